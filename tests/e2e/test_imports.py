"""An officer imports a payment file in a real browser: the progress page refreshes itself
(no JavaScript needed) until a real worker has imported the file, then shows the summary;
both pages pass axe-core's WCAG 2.2 AA checks."""

import secrets
from pathlib import Path

import pytest

from tenants.actions.councils import council_host, create_council
from tests.e2e.conftest import axe_violations, committed
from tests.e2e.signing_in import sign_in

pytestmark = pytest.mark.worker
DEMO_FILES = Path(__file__).resolve().parents[2] / "income" / "demo_files"


def test_an_officer_uploads_an_allpay_file_watches_it_import_and_reads_the_summary(
    page, live_server_port, celery_worker_process, django_db_blocker
):
    from django_tenants.utils import schema_context

    from counterfoil.demo_seed import DEMO_COUNCILS, _seed_funds
    from tenants.models import CouncilRole
    from tests.conftest import make_member

    def setup():
        # A council of its own: the import is committed and must not touch other tests' councils.
        council = create_council(
            name="Browser Import Council", slug=f"bimp-{secrets.token_hex(3)}", acting_user=None
        )
        _seed_funds(council, DEMO_COUNCILS[0])
        with schema_context(council.schema_name):
            from income.exports.layout import parse_fields
            from income.models import ExportTarget

            ExportTarget.objects.create(
                name="Revenues cash file", fields=parse_fields("reference\nfund_code\namount")
            )
        member = make_member(council, CouncilRole.INCOME_OFFICER)
        return council, member

    council, member = committed(django_db_blocker, setup)
    base = f"http://{council_host(council.slug)}:{live_server_port}"
    sign_in(page, f"{base}/imports/new/", member.email)
    assert axe_violations(page) == []

    page.check("input[value=allpay]")
    page.set_input_files("input[name=file]", str(DEMO_FILES / "allpay.txt"))
    page.click("button:has-text('Import')")
    page.wait_for_url("**/imports/*/")
    assert axe_violations(page) == []
    # The page refreshes itself until the worker is done.
    page.wait_for_selector("text=Receipts created", timeout=60_000)
    text = page.inner_text("main")
    assert "41, worth £4,804.99" in text
    assert "31/11/2026 is not a real date" in text
    assert axe_violations(page) == []

    def imported():
        with schema_context(council.schema_name):
            from income.models import ImportBatch

            return ImportBatch.objects.get().receipts_created

    assert committed(django_db_blocker, imported) == 41

    for path in ("/imports/", "/imports/rules/", "/imports/mappings/", "/exports/",
                 "/reconciliation/"):  # fmt: skip
        page.goto(f"{base}{path}")
        assert axe_violations(page) == [], path

    # The import's receipts go out in an export the worker makes while its page refreshes.
    page.goto(f"{base}/exports/")
    page.click("button:has-text('Export now')")
    page.wait_for_url("**/exports/runs/*/")
    page.wait_for_selector("text=Download revenues-cash-file", timeout=60_000)
    assert axe_violations(page) == []

    def export_and_ledger():
        with schema_context(council.schema_name):
            from django.db.models import Sum

            from income.models import ExportRun, Posting

            in_funds = Posting.objects.filter(account__kind="fund").aggregate(Sum("amount_pence"))
            return ExportRun.objects.get().total_pence, -in_funds["amount_pence__sum"]

    exported, in_funds = committed(django_db_blocker, export_and_ledger)
    assert exported == in_funds > 0
    assert f"£{in_funds / 100:,.2f}" in page.inner_text("main")
