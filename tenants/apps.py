from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Councils and people"

    def ready(self) -> None:
        from celery.signals import task_postrun
        from django.core.signals import request_finished

        from tenants.connection_recycling import recycle_if_spent

        # After Django's own close_old_connections (connected first, at import).
        request_finished.connect(recycle_if_spent, dispatch_uid="recycle_council_connection")
        task_postrun.connect(recycle_if_spent, weak=False, dispatch_uid="recycle_council_conn")
