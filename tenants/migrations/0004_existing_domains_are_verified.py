"""Host names that answered before verification existed keep answering: they were the
platform's own subdomains, created by us."""

from django.db import migrations


def mark_verified(apps, schema_editor):
    from django.utils import timezone

    Domain = apps.get_model("tenants", "Domain")
    Domain.objects.filter(verified_at__isnull=True).update(
        verified_at=timezone.now(), verification_method="platform"
    )


class Migration(migrations.Migration):
    dependencies = [("tenants", "0003_onboarding_invitations_domain_verification")]

    operations = [migrations.RunPython(mark_verified, migrations.RunPython.noop)]
