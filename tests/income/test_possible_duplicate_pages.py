"""The possible duplicates through the real pages: the import summary says what it held back
and links to the worklist; a finance manager releases or discards a line; officers and
auditors look but cannot decide; a reimported reversed file says so; another council's
staff see nothing of it."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from income.actions.imports import reverse_import, upload_import
from income.defaults import seed_income_defaults
from income.formats import allpay
from income.imports.pipeline import run_import
from income.models import (
    ImportBatch,
    PossibleDuplicate,
    PossibleDuplicateStatus,
    Receipt,
    ReferenceRule,
)
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD, FundFactory

pytestmark = pytest.mark.django_db
DAY = datetime.date(2026, 11, 20)


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def signed_in(council, role=CouncilRole.FINANCE_MANAGER):
    member = make_member(council, role)
    client = host_client(council)
    assert client.login(email=member.email, password=PASSWORD)
    return client, member


def pcn(n: int) -> str:
    return allpay.write_line(reference=f"PCN{n:06d}", amount_pence=1_000, letter="P", date=DAY)


def allpay_file(lines: list[str]) -> bytes:
    body = lines + allpay.write_trailer(total_pence=1_000 * len(lines), count=len(lines))
    return ("\r\n".join(body) + "\r\n").encode()


def imported(council, content: bytes, name: str = "allpay.txt") -> ImportBatch:
    batch = upload_import(
        council=council,
        uploaded_file=SimpleUploadedFile(name, content),
        format_name="allpay",
        acting_user=None,
        default_date=DAY,
    )
    return run_import(batch.pk)


@pytest.fixture
def overlapping(council_a):
    """Monday's file, then Tuesday's with two of Monday's lines and one new."""
    with schema_context(council_a.schema_name):
        seed_income_defaults()
        rule = ReferenceRule.objects.create(name="Parking", pattern=r"PCN\d{6}")
        FundFactory(code="PARK", name="Parking Fines", reference_rule=rule)
        imported(council_a, allpay_file([pcn(1), pcn(2)]), name="monday.txt")
        tuesday = imported(council_a, allpay_file([pcn(1), pcn(2), pcn(3)]), name="tuesday.txt")
        lines = list(tuesday.possible_duplicates.order_by("line_number"))
    return tuesday, lines


def test_the_summary_says_what_was_held_back_and_links_to_the_worklist(council_a, overlapping):
    tuesday, lines = overlapping
    client, _ = signed_in(council_a, CouncilRole.INCOME_OFFICER)

    summary = client.get(f"/imports/{tuesday.pk}/").content.decode()

    assert "1, worth £10.00" in summary  # receipts created
    assert (
        "2 lines, £20.00, held back: an earlier import already brought them in. "
        "2 waiting for a decision"
    ) in summary
    assert f'href="/imports/possible-duplicates/?batch={tuesday.pk}"' in summary
    listing = client.get("/imports/").content.decode()
    assert "Possible duplicates (2 waiting)" in listing
    worklist = client.get(f"/imports/possible-duplicates/?batch={tuesday.pk}").content.decode()
    assert "2 lines waiting" in worklist
    for line in lines:
        assert f'href="/imports/possible-duplicates/{line.pk}/"' in worklist
        assert f"Import {tuesday.pk}, line {line.line_number}" in worklist
    # An officer sees the line and what it matches, but no way to decide it.
    page = client.get(f"/imports/possible-duplicates/{lines[0].pk}/").content.decode()
    assert "PCN000001" in page
    assert "Release the line" not in page
    assert "A finance manager or admin decides" in page


def test_a_manager_releases_one_line_and_discards_another(council_a, overlapping):
    _, (first, second) = overlapping
    client, manager = signed_in(council_a)
    page = client.get(f"/imports/possible-duplicates/{first.pk}/").content.decode()
    assert "Release the line" in page and "Discard the line" in page

    released = client.post(f"/imports/possible-duplicates/{first.pk}/", {"action": "release"})
    again = client.post(f"/imports/possible-duplicates/{first.pk}/", {"action": "release"})
    no_reason = client.post(
        f"/imports/possible-duplicates/{second.pk}/", {"action": "discard", "reason": ""}
    )
    discarded = client.post(
        f"/imports/possible-duplicates/{second.pk}/",
        {"action": "discard", "reason": "Monday's payment again"},
    )

    assert released.status_code == 302 and discarded.status_code == 302
    assert again.status_code == 302  # harmless: the line's receipt was already made
    assert no_reason.status_code == 200
    assert "There is a problem" in no_reason.content.decode()
    with schema_context(council_a.schema_name):
        first.refresh_from_db()
        second.refresh_from_db()
        assert first.status == PossibleDuplicateStatus.RELEASED
        assert Receipt.objects.filter(idempotency_key=f"release:{first.pk}").count() == 1
        assert second.status == PossibleDuplicateStatus.DISCARDED
        assert (second.reason, second.decided_by_email) == ("Monday's payment again", manager.email)
        assert (
            AuditEvent.objects.filter(
                action__startswith="import.possible_duplicate_", actor_email=manager.email
            ).count()
            == 2
        )
        receipt_number = first.receipt.number
    shown = client.get(f"/imports/possible-duplicates/{first.pk}/").content.decode()
    assert f'it made receipt <a class="govuk-link" href="/receipts/{receipt_number}/">' in shown
    decided = client.get("/imports/possible-duplicates/?show=decided").content.decode()
    assert "Released as " + receipt_number in decided and "Discarded by" in decided
    assert "Nothing is waiting." in client.get("/imports/possible-duplicates/").content.decode()


@pytest.mark.parametrize("role", [CouncilRole.INCOME_OFFICER, CouncilRole.AUDITOR])
def test_officers_and_auditors_cannot_release_or_discard_by_page(council_a, overlapping, role):
    _, (first, _second) = overlapping
    client, _ = signed_in(council_a, role)

    release = client.post(f"/imports/possible-duplicates/{first.pk}/", {"action": "release"})
    discard = client.post(
        f"/imports/possible-duplicates/{first.pk}/", {"action": "discard", "reason": "x"}
    )

    assert (release.status_code, discard.status_code) == (403, 403)
    with schema_context(council_a.schema_name):
        first.refresh_from_db()
        assert first.status == PossibleDuplicateStatus.HELD
        assert not Receipt.objects.filter(idempotency_key=f"release:{first.pk}").exists()


def test_council_b_sees_nothing_of_council_a_possible_duplicates(council_a, council_b, overlapping):
    tuesday, (first, _second) = overlapping
    with schema_context(council_b.schema_name):
        seed_income_defaults()
    client, _ = signed_in(council_b, CouncilRole.ADMIN)

    worklist = client.get("/imports/possible-duplicates/")
    by_batch = client.get(f"/imports/possible-duplicates/?batch={tuesday.pk}")
    line = client.get(f"/imports/possible-duplicates/{first.pk}/")
    release = client.post(f"/imports/possible-duplicates/{first.pk}/", {"action": "release"})

    assert worklist.status_code == 200
    assert "PCN000001" not in worklist.content.decode()
    assert "Nothing is waiting." in worklist.content.decode()
    assert (by_batch.status_code, line.status_code, release.status_code) == (404, 404, 404)
    assert "Possible duplicates (0 waiting)" in client.get("/imports/").content.decode()
    with schema_context(council_a.schema_name):
        assert PossibleDuplicate.objects.get(pk=first.pk).status == PossibleDuplicateStatus.HELD


def test_a_reversed_file_imported_again_says_its_earlier_import_was_reversed(council_a):
    client, manager = signed_in(council_a, CouncilRole.FINANCE_MANAGER)
    content = allpay_file([pcn(1)])
    with schema_context(council_a.schema_name):
        seed_income_defaults()
        first = imported(council_a, content, name="monday.txt")
        reverse_import(
            council=council_a, batch=first, reason="the parking rule was wrong", acting_user=manager
        )
    response = client.post(
        "/imports/new/",
        {"format": "allpay", "file": SimpleUploadedFile("monday.txt", content)},
    )
    assert response.status_code == 302, response.content.decode()
    with schema_context(council_a.schema_name):
        again = run_import(ImportBatch.objects.exclude(pk=first.pk).get().pk)
    assert again.receipts_created == 1

    page = client.get(f"/imports/{again.pk}/").content.decode()

    link = f'<a class="govuk-link" href="/imports/{first.pk}/">import {first.pk}</a>'
    assert f"This file was imported before, as {link}" in page
    assert "and that import was reversed on " in page
    assert f"by {manager.email}: the parking rule was wrong" in page
