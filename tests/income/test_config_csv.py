"""Configuration as CSV: exported, edited in a spreadsheet, imported all or nothing."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from income.models import Fund, FundGroup, ReferenceRule, VatCode
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole
from tests.factories import FundFactory
from tests.income.test_config_pages import client_as

pytestmark = pytest.mark.django_db


def upload(client, slug: str, text: str):
    file = SimpleUploadedFile(f"{slug}.csv", text.encode(), content_type="text/csv")
    return client.post(f"/config/{slug}/import/", {"file": file}, follow=True)


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def configured(ledger, cash, card):
    """A fund using every kind of setting another object holds, plus one in a formula's clothes."""
    group = FundGroup.objects.create(name="Revenues")
    rule = ReferenceRule.objects.create(name="Council Tax account", input_mask="50#######")
    fund = FundFactory(
        code="CTAX", name="Council Tax", group=group, vat_code=VatCode.objects.get(code="N0"),
        reference_rule=rule, ledger_code="GL100", cost_centre="CC1", subjective="S9",
        min_amount_pence=100, max_amount_pence=500_000, is_public=True,
        active_from="2024-04-01",
    )  # fmt: skip
    fund.channels.set([cash, card])
    FundFactory(code="SUM", name="-2+3", description="@SUM(A1:A2)", ledger_code="+44")
    return fund


def test_export_names_related_settings_by_their_own_keys_and_neutralises_formulas(
    configured, council_a
):
    client = client_as(council_a, CouncilRole.ADMIN)
    response = client.get("/config/funds/?format=csv")
    assert response["Content-Disposition"] == 'attachment; filename="funds.csv"'
    ctax, formulaic = rows(response.content.decode())
    assert ctax["group"] == "Revenues" and ctax["vat_code"] == "N0"
    assert ctax["channels"] == "CARD;CASH" and ctax["reference_rule"] == "Council Tax account"
    assert (ctax["min_amount_pence"], ctax["max_amount_pence"]) == ("1.00", "5000.00")
    assert (ctax["is_public"], ctax["active_from"], ctax["active_to"]) == ("yes", "2024-04-01", "")
    assert formulaic["name"] == "'-2+3"
    assert formulaic["description"] == "'@SUM(A1:A2)" and formulaic["ledger_code"] == "'+44"


def test_importing_the_exported_file_changes_nothing(configured, council_a):
    client = client_as(council_a, CouncilRole.ADMIN)
    before = AuditEvent.objects.count()
    for slug in ("funds", "vat-codes", "channels", "fund-groups", "reference-rules"):
        exported = client.get(f"/config/{slug}/?format=csv").content.decode()
        page = upload(client, slug, exported).content.decode()
        assert "Imported: 0 new, 0 changed" in page, slug
    assert AuditEvent.objects.count() == before
    configured.refresh_from_db()
    assert configured.vat_code.code == "N0" and configured.group.name == "Revenues"
    assert sorted(c.code for c in configured.channels.all()) == ["CARD", "CASH"]
    assert Fund.objects.get(code="SUM").name == "-2+3"


def test_an_edited_file_updates_by_code_and_adds_new_funds_with_defaults(configured, council_a):
    client = client_as(council_a, CouncilRole.ADMIN)
    page = upload(
        client,
        "funds",
        "code,name,vat_code,channels,max_amount_pence\n"
        "ctax,Council Tax (all bands),w0,cash,\n"
        "BINS,Bulky waste,,cash; card,250\n",
    ).content.decode()
    assert "Imported: 1 new, 1 changed" in page

    configured.refresh_from_db()
    assert configured.name == "Council Tax (all bands)" and configured.vat_code.code == "W0"
    assert [c.code for c in configured.channels.all()] == ["CASH"]
    assert configured.max_amount_pence is None  # an empty cell clears the maximum
    assert configured.group.name == "Revenues" and configured.ledger_code == "GL100"  # kept
    bins = Fund.objects.get(code="BINS")
    assert (bins.min_amount_pence, bins.max_amount_pence, bins.vat_code) == (1, 25_000, None)
    assert bins.is_active and bins.refunds_allowed and bins.overpayment_handling == "accept"
    assert sorted(c.code for c in bins.channels.all()) == ["CARD", "CASH"]
    assert bins.account.code == "FUND-BINS"  # opened like a fund added on the page
    event = AuditEvent.objects.get(action="fund.changed", target_id=str(configured.pk))
    assert (event.before["name"], event.after["name"]) == ("Council Tax", "Council Tax (all bands)")


def test_an_unknown_vat_code_is_reported_at_its_row_and_nothing_is_imported(ledger, council_a):
    client = client_as(council_a, CouncilRole.ADMIN)
    response = upload(
        client,
        "funds",
        "code,name,vat_code\nNEW1,First,W0\nNEW2,Second,Z9\n",
    )
    page = response.content.decode()
    assert "Nothing was imported" in page and "<title>Error: " in page
    assert "Row 3 (vat_code): There is no VAT code &quot;Z9&quot;." in page
    assert not Fund.objects.filter(code__in=["NEW1", "NEW2"]).exists()


def test_every_bad_row_is_listed_with_its_row_number(ledger, council_a, council_tax):
    client = client_as(council_a, CouncilRole.ADMIN)
    page = upload(
        client,
        "funds",
        "code,name,channels,group,refunds_allowed,min_amount_pence,max_amount_pence\n"
        "OK1,Fine,CASH,,yes,1.00,\n"
        "OK1,Twice,,,yes,1.00,\n"
        "BAD2,Bad channel,CASH;KIOSK,,yes,1.00,\n"
        "BAD3,Bad group,,Nowhere,yes,1.00,\n"
        "BAD4,Bad flag,,,perhaps,1.00,\n"
        "BAD5,Bad amount,,,yes,1.005,\n"
        "BAD6,Limits,,,yes,5.00,1.00\n"
        "B-7,Bad code,,,yes,1.00,\n",
    ).content.decode()
    for line in (
        "Row 3 (code): OK1 is also on row 2.",
        "Row 4 (channels): There is no channel &quot;KIOSK&quot;.",
        "Row 5 (group): There is no fund group &quot;Nowhere&quot;.",
        "Row 6 (refunds_allowed): Write yes or no, not &quot;perhaps&quot;.",
        "Row 7 (min_amount_pence): Enter an amount in pounds and pence, like 12.50 "
        "(no fractions of a penny).",
        "Row 8 (max_amount_pence): The maximum must be at least the minimum.",
        "Row 9 (code): A fund code is 1 to 5 letters or digits, like CTAX.",
    ):
        assert line in page, line
    assert Fund.objects.count() == 1  # council_tax alone


def test_a_line_break_in_a_funds_ledger_code_is_refused_at_its_row(ledger, council_a):
    """A quoted CSV cell may hold a line break; in an export it would split a payment's line."""
    client = client_as(council_a, CouncilRole.ADMIN)
    page = upload(client, "funds", 'code,name,ledger_code\nNEW1,First,"L100\nL200"\n').content
    assert "Row 2 (ledger_code): Keep this on one line, without tabs or line breaks" in (
        page.decode()
    )
    assert not Fund.objects.filter(code="NEW1").exists()


def test_a_file_that_is_not_a_configuration_file_is_refused(ledger, council_a):
    client = client_as(council_a, CouncilRole.ADMIN)
    no_key = upload(client, "funds", "name\nSomething\n").content.decode()
    assert "The first line must name the columns, including code." in no_key
    typo = upload(client, "funds", "code,name,min_amount\nX1,Typo,5\n").content.decode()
    assert "The first line names columns this import does not know: min_amount." in typo
    empty = upload(client, "funds", "code,name\n").content.decode()
    assert "The file has a first line of column names but no rows." in empty
    latin1 = SimpleUploadedFile("f.csv", "code,name\nX1,Caf\xe9\n".encode("latin-1"))
    refused = client.post("/config/funds/import/", {"file": latin1}).content.decode()
    assert "The file is not UTF-8 text" in refused
    assert not Fund.objects.exists()


def test_vat_codes_travel_as_percentages(ledger, council_a):
    client = client_as(council_a, CouncilRole.ADMIN)
    exported = client.get("/config/vat-codes/?format=csv").content.decode()
    assert {row["code"]: row["rate"] for row in rows(exported)}["W0"] == "20.00"
    page = upload(
        client,
        "vat-codes",
        "code,name,rate,effective_from\nW0,Standard rate,17.5,2008-12-01\nr5,Reduced,5,\n",
    ).content.decode()
    assert "Imported: 1 new, 1 changed" in page
    assert VatCode.objects.get(code="W0").rate_basis_points == 1750
    assert str(VatCode.objects.get(code="W0").effective_from) == "2008-12-01"
    assert VatCode.objects.get(code="R5").rate_basis_points == 500
