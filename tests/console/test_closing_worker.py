"""Closing a council archives it on the real worker, in the council's schema, once committed."""

import shutil
import zipfile

import pytest
from django.conf import settings

from tenants.actions.councils import create_council
from tenants.actions.lifecycle import begin_closing, drop_council_schema
from tenants.models import CouncilArchive, CouncilStatus, PlatformRole
from tests.factories import UserFactory
from tests.waiting import wait_for

pytestmark = pytest.mark.worker


@pytest.fixture
def committed(django_db_blocker):
    with django_db_blocker.unblock():
        yield


def test_closing_a_council_archives_it_on_the_worker_and_then_it_can_be_dropped(
    celery_worker_process, committed
):
    operator = UserFactory(platform_role=PlatformRole.OPERATOR)
    council = create_council(name="Worker Closing Council", slug="worker-closing", acting_user=None)

    archive_row = begin_closing(council=council, reason="Leaving", acting_user=operator)

    def finished() -> bool:
        archive_row.refresh_from_db()
        return archive_row.status != "queued"

    wait_for(finished, timeout=60)
    assert archive_row.status == "done", (archive_row.error, celery_worker_process.log()[-3000:])
    assert "Task tenants.archive_council_data[" in celery_worker_process.log()
    archive = settings.DATA_DIR / archive_row.archive_path
    try:
        with zipfile.ZipFile(archive) as opened:
            assert "manifest.json" in opened.namelist()
            assert "income_vatcode.csv" in opened.namelist()
        drop_council_schema(council=council, typed_name=council.name, acting_user=operator)
        council.refresh_from_db()
        assert council.status == CouncilStatus.CLOSED
        assert CouncilArchive.objects.filter(council=council).count() == 1
    finally:
        shutil.rmtree(archive.parent, ignore_errors=True)
