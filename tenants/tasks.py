from celery import shared_task
from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context
from tenant_schemas_celery.task import TenantTask

from tenants.actions.lifecycle import record_archive_done
from tenants.archiving import archive_schema
from tenants.models import ArchiveStatus, CouncilArchive
from tenants.spare_schemas import replenish


@shared_task(name="tenants.archive_council_data")
def archive_council_data(archive_id: int) -> None:
    """Write the archive of the current council's schema. Idempotent: an archive already done
    is left alone; one that failed can be run again."""
    schema_name = connection.schema_name
    with schema_context(get_public_schema_name()):
        archive = CouncilArchive.objects.select_related("council").get(pk=archive_id)
    if archive.status == ArchiveStatus.DONE or archive.council.schema_name != schema_name:
        return
    try:
        made = archive_schema(archive.council)
    except Exception as error:
        with schema_context(get_public_schema_name()):
            CouncilArchive.objects.filter(pk=archive.pk).update(
                status=ArchiveStatus.FAILED, error=str(error)[:2000]
            )
        raise
    record_archive_done(archive, made)


@shared_task(name="tenants.replenish_spare_schemas", base=TenantTask, acks_late=True)
def replenish_spare_schemas(target: int) -> list[str]:
    """A platform task (public schema): top the pool of spare council schemas up to `target`,
    dropping those of earlier releases. The spares it built."""
    return replenish(target).built
