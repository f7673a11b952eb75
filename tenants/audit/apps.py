from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The append-only audit log. Installed in the public schema (platform actions) and in
    every council's schema (council actions): the same table, wherever the action happened."""

    name = "tenants.audit"
    label = "audit"
    verbose_name = "Audit log"
