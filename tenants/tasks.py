from celery import shared_task
from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.actions.lifecycle import record_export_done
from tenants.exporting import export_schema
from tenants.models import CouncilExport, ExportStatus


@shared_task(name="tenants.export_council_data")
def export_council_data(export_id: int) -> None:
    """Write the archive of the current council's schema. Idempotent: an export already done
    is left alone; one that failed can be run again."""
    schema_name = connection.schema_name
    with schema_context(get_public_schema_name()):
        export = CouncilExport.objects.select_related("council").get(pk=export_id)
    if export.status == ExportStatus.DONE or export.council.schema_name != schema_name:
        return
    try:
        archive = export_schema(export.council)
    except Exception as error:
        with schema_context(get_public_schema_name()):
            CouncilExport.objects.filter(pk=export.pk).update(
                status=ExportStatus.FAILED, error=str(error)[:2000]
            )
        raise
    record_export_done(export, archive)
