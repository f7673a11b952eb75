"""The Celery app: tasks declared with `shared_task` in each app run on tenants.council_task's
CouncilTask, which carries the schema of the council that enqueued them."""

import os

# Before anything that reads Django's settings: `celery --app counterfoil.celery_app` is
# started without DJANGO_SETTINGS_MODULE by `counterfoil worker` and `beat`.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "counterfoil.settings")

from tenant_schemas_celery.app import CeleryApp

from tenants.council_task import SCHEMA_HEADER, CouncilTask, NoCouncilError

__all__ = ["SCHEMA_HEADER", "CouncilTask", "NoCouncilError", "app"]

app = CeleryApp("counterfoil", task_cls="tenants.council_task:CouncilTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
