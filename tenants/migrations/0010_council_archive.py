# A closing council's copy of its data is its "archive"; "export" means the files income sends
# to back-office systems. Renamed in place: the rows and their history stay.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0009_account_security_cache"),
    ]

    operations = [
        migrations.RenameModel(old_name="CouncilExport", new_name="CouncilArchive"),
        migrations.AlterField(
            model_name="councilarchive",
            name="council",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="archives",
                to="tenants.council",
            ),
        ),
    ]
