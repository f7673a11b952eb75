from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Councils and people"

    def ready(self) -> None:
        from celery.signals import task_postrun
        from django.contrib.auth.signals import user_logged_in
        from django.core.signals import request_finished

        from tenants.connection_recycling import recycle_if_spent
        from tenants.last_login import record_last_login

        # Django's receiver swapped for one that lets a sign-in through while a Citus worker is
        # down (tenants.last_login), under Django's dispatch_uid: whichever app is ready first,
        # django.contrib.auth's own connect then finds the uid taken and adds nothing.
        user_logged_in.disconnect(dispatch_uid="update_last_login")
        user_logged_in.connect(record_last_login, dispatch_uid="update_last_login")

        # After Django's own close_old_connections (connected first, at import).
        request_finished.connect(recycle_if_spent, dispatch_uid="recycle_council_connection")
        task_postrun.connect(recycle_if_spent, weak=False, dispatch_uid="recycle_council_conn")
