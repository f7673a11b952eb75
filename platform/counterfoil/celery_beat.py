"""The beat scheduler: each periodic entry is sent once per council whose hosts answer.

tenant-schemas-celery's scheduler sends to every tenant row, closed councils (whose schema is
gone) and councils still being built included; their tasks could only fail.
"""

from django.db import models
from tenant_schemas_celery.scheduler import TenantAwarePersistentScheduler

from tenants.models import Council
from tenants.models.council import SERVED_STATUSES


class ServedCouncilsScheduler(TenantAwarePersistentScheduler):
    @classmethod
    def get_queryset(cls) -> models.QuerySet:
        return Council.objects.filter(status__in=SERVED_STATUSES)
