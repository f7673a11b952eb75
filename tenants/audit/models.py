from django.db import models


class AuditEvent(models.Model):
    """Who did what, when, from where, and what it was before and after. Never changed:
    a database trigger refuses UPDATE, DELETE and TRUNCATE (migration 0002)."""

    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Who, kept as plain values: the record must outlive any change to the person's account.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=100, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_email or 'system'} {self.action}"
