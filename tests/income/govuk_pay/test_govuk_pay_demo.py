"""The demo connects each seeded council to its own service on the GOV.UK Pay stand-in."""

import pytest
from django_tenants.utils import schema_context

from counterfoil.demo_seed import demo_govuk_pay_keys, seed_demo
from income.models import GovukPayConnection
from tenants.models import Council
from tenants.secrets_at_rest import decrypt

pytestmark = pytest.mark.django_db


def test_seeded_councils_are_connected_to_the_stand_in(standin):
    seed_demo(govuk_pay_url=standin.url, webhook_port=8000)
    seed_demo(govuk_pay_url=standin.url, webhook_port=8000)  # again: nothing doubled
    for slug in ("northbrook", "eastmere"):
        council = Council.objects.get(slug=slug)
        api_key, secret = demo_govuk_pay_keys(slug)
        with schema_context(council.schema_name):
            connection = GovukPayConnection.objects.get()
            assert connection.base_url == standin.url
            assert decrypt(connection.api_key_encrypted) == api_key
            assert decrypt(connection.webhook_secret_encrypted) == secret
        service = standin.services[api_key]
        assert service.webhook_url == f"http://{slug}.localhost:8000/govuk-pay/webhook/"
        assert service.webhook_secret == secret


def test_the_demo_statement_matches_northbrooks_gov_uk_pay_payout_and_allpay_day(
    standin, settings, tmp_path
):
    """The README's reconciliation path: at Northbrook, import the sample allpay file, load
    the sample statement and match: the allpay settlement and the GOV.UK Pay payout match,
    the interest is left to explain."""
    from pathlib import Path

    from django.core.files.uploadedfile import SimpleUploadedFile

    from counterfoil.demo_seed import DEMO_PAYOUT_DAY
    from income.actions.imports import upload_import
    from income.actions.reconciliation import load_statement, match_statement
    from income.expected_bankings import expected_bankings
    from income.imports.pipeline import run_import
    from income.models import MatchKind
    from tenants.models import User

    settings.MEDIA_ROOT = tmp_path
    demo_files = Path(__file__).resolve().parents[3] / "income" / "demo_files"
    seed_demo(govuk_pay_url=standin.url, webhook_port=8000)
    council = Council.objects.get(slug="northbrook")
    manager = User.objects.get(email="manager@northbrook.example")
    with schema_context(council.schema_name):
        [payout] = [
            e
            for e in expected_bankings(DEMO_PAYOUT_DAY, DEMO_PAYOUT_DAY)
            if e.kind == MatchKind.GOVUK_PAY
        ]
        assert payout.pence == 87_438
        assert payout.label == (
            "GOV.UK Pay payout for 24 Nov 2026: 6 payments less 1 refund and £1.95 fees"
        )
        batch = upload_import(
            council=council,
            uploaded_file=SimpleUploadedFile(
                "allpay.txt", (demo_files / "allpay.txt").read_bytes()
            ),
            format_name="allpay",
            acting_user=None,
        )
        run_import(batch.pk)
        statement = load_statement(
            council=council,
            uploaded_file=SimpleUploadedFile(
                "statement.xml", (demo_files / "reconciliation_statement.xml").read_bytes()
            ),
            format_name="camt053",
            acting_user=manager,
        )
        assert match_statement(council=council, statement=statement, acting_user=manager) == 2
        kinds = list(statement.lines.order_by("line_number").values_list("match_kind", "note"))
        assert kinds == [
            ("allpay", "allpay takings for 23 Nov 2026"),
            ("govuk_pay", payout.label),
            ("", ""),
        ]
    eastmere = Council.objects.get(slug="eastmere")
    with schema_context(eastmere.schema_name):
        # Eastmere's service reports no settled dates: nothing paid out to expect.
        assert not [
            e
            for e in expected_bankings(DEMO_PAYOUT_DAY, DEMO_PAYOUT_DAY)
            if e.kind == MatchKind.GOVUK_PAY
        ]
