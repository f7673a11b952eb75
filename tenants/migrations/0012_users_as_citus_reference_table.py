"""On a Citus cluster, the users table becomes a reference table (a copy on every node): the
council tables that name a user (fund access, API clients) live on a worker and keep their
foreign keys to it. Nothing changes on plain PostgreSQL."""

from django.db import migrations

from tenants.citus import make_reference_tables


def forwards(apps, schema_editor) -> None:
    make_reference_tables(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0011_council_identity_provider")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
