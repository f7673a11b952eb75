"""Council admins configure funds, VAT codes, channels, groups and reference rules; others look."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from income.accounts import fund_account
from income.models import Channel, Fund, ReferenceRule, VatCode
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def client_as(council, role):
    member = make_member(council, role)
    client = host_client(council)
    client.login(email=member.email, password=PASSWORD)
    return client


FUND = {
    "code": "bins", "name": "Bulky waste", "overpayment_handling": "accept",
    "min_amount_pence": "1.00", "max_amount_pence": "250.00", "is_active": "on",
}  # fmt: skip


def test_an_admin_adds_a_fund_with_its_account_changes_it_and_sees_its_history(ledger, council_a):
    client = client_as(council_a, CouncilRole.ADMIN)
    assert client.post("/config/funds/new/", FUND).status_code == 302
    fund = Fund.objects.get(code="BINS")
    assert (fund.min_amount_pence, fund.max_amount_pence) == (100, 25_000)
    assert fund_account(fund).name == "Bulky waste"

    client.post(f"/config/funds/{fund.pk}/", {**FUND, "name": "Bulky household waste"})
    page = client.get(f"/config/funds/{fund.pk}/").content.decode()
    assert "fund.changed" in page and "fund.created" in page
    event = AuditEvent.objects.get(action="fund.changed")
    assert (event.before["name"], event.after["name"]) == ("Bulky waste", "Bulky household waste")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"code": "TOOLONG"}, "A fund code is 1 to 5 letters or digits"),
        ({"code": "C-T"}, "A fund code is 1 to 5 letters or digits"),
        ({"max_amount_pence": "0.50"}, "The maximum must be at least the minimum."),
        ({"min_amount_pence": "1.005"}, "no fractions of a penny"),
    ],
)
def test_bad_fund_settings_are_explained_and_nothing_is_saved(ledger, council_a, changes, message):
    client = client_as(council_a, CouncilRole.ADMIN)
    response = client.post("/config/funds/new/", {**FUND, **changes})
    assert message in response.content.decode()
    assert not Fund.objects.filter(name="Bulky waste").exists()


def test_officers_and_auditors_look_but_change_nothing(ledger, council_a, council_tax):
    for role in (CouncilRole.INCOME_OFFICER, CouncilRole.AUDITOR):
        client = client_as(council_a, role)
        assert client.get("/config/funds/").status_code == 200
        for path, data in (
            ("/config/funds/new/", FUND),
            (f"/config/funds/{council_tax.pk}/", {**FUND, "code": "CTAX"}),
            (f"/config/funds/{council_tax.pk}/enabled/", {"enabled": "0"}),
            ("/config/funds/import/", {}),
        ):
            assert client.post(path, data).status_code == 403, (role, path)
    council_tax.refresh_from_db()
    assert council_tax.is_active and council_tax.name == "Council Tax"
    assert not Fund.objects.filter(code="BINS").exists()


def test_council_b_configuration_is_not_found_on_council_a(council_a, council_b, ledger):
    from django_tenants.utils import schema_context

    with schema_context(council_b.schema_name):
        rule_b = ReferenceRule.objects.create(name="Only in B")
    client = client_as(council_a, CouncilRole.ADMIN)
    with schema_context(council_a.schema_name):
        assert not ReferenceRule.objects.filter(pk=rule_b.pk).exists()
    assert client.get(f"/config/reference-rules/{rule_b.pk}/").status_code == 404


def test_a_csv_round_trip_changes_nothing_and_formulas_are_neutralised(ledger, council_a):
    client = client_as(council_a, CouncilRole.ADMIN)
    client.post("/config/funds/new/", {**FUND, "name": '=HYPERLINK("x")'})
    exported = client.get("/config/funds/?format=csv").content.decode()
    assert "'=HYPERLINK" in exported

    before = AuditEvent.objects.count()
    upload = SimpleUploadedFile("funds.csv", exported.encode(), content_type="text/csv")
    assert client.post("/config/funds/import/", {"file": upload}).status_code == 302
    assert AuditEvent.objects.count() == before  # nothing changed, so nothing recorded
    assert Fund.objects.get(code="BINS").name == '=HYPERLINK("x")'


def test_a_csv_with_one_bad_row_imports_nothing_and_says_which_row(ledger, council_a):
    client = client_as(council_a, CouncilRole.ADMIN)
    csv_text = (
        "code,name,overpayment_handling,is_active\n"
        "NEW1,First new fund,accept,yes\n"
        "TOOLONG,Second new fund,accept,yes\n"
    )
    upload = SimpleUploadedFile("funds.csv", csv_text.encode(), content_type="text/csv")
    page = client.post("/config/funds/import/", {"file": upload}).content.decode()
    assert "Nothing was imported" in page
    assert "Row 3 (code): A fund code is 1 to 5 letters or digits" in page
    assert not Fund.objects.filter(code="NEW1").exists()


def test_vat_rates_are_percentages_kept_in_basis_points(ledger, council_a):
    client = client_as(council_a, CouncilRole.ADMIN)
    client.post("/config/vat-codes/new/", {"code": "r5", "name": "Reduced", "rate": "5.5"})
    assert VatCode.objects.get(code="R5").rate_basis_points == 550
    bad = client.post("/config/vat-codes/new/", {"code": "X", "name": "x", "rate": "5.555"})
    assert "up to 2 decimal places" in bad.content.decode()


def test_a_new_channel_opens_its_clearing_account(ledger, council_a):
    client = client_as(council_a, CouncilRole.ADMIN)
    client.post(
        "/config/channels/new/",
        {"code": "kiosk", "name": "Payment kiosk", "kind": "card", "min_amount_pence": "0.01"},
    )
    assert Channel.objects.get(code="KIOSK").clearing_account.code == "CLEARING-KIOSK"


def test_a_reference_rule_is_tried_on_its_page_and_guards_its_fund(
    ledger, council_a, council_tax, cash
):
    client = client_as(council_a, CouncilRole.ADMIN)
    client.post(
        "/config/reference-rules/new/",
        {"name": "Council Tax account", "input_mask": "50#######", "check_digit_method": "luhn",
         "modulus": "10", "is_active": "on"},
    )  # fmt: skip
    rule = ReferenceRule.objects.get()
    page = client.get(f"/config/reference-rules/{rule.pk}/", {"reference": "500000001"})
    assert "is not valid: the check digit should be" in page.content.decode()
    bad_config = client.post(
        "/config/reference-rules/new/", {"name": "Broken", "pattern": "(", "modulus": "11"}
    )
    assert "This is not a valid regular expression" in bad_config.content.decode()

    council_tax.reference_rule = rule
    council_tax.save()
    from income.fund_checks import fund_reference_problem

    assert "check digit" in fund_reference_problem(council_tax, "500000001")
    assert fund_reference_problem(council_tax, "12") == (
        "The reference for CTAX is not valid: must be 9 characters, like 50####### (it has 2)"
    )


def test_staff_given_a_fund_group_see_only_its_funds_while_admins_see_all(ledger, council_a):
    from income.models import FundGroup
    from tests.factories import FundFactory

    admin = client_as(council_a, CouncilRole.ADMIN)
    officer = make_member(council_a, CouncilRole.INCOME_OFFICER)
    admin.post("/config/fund-groups/new/", {"name": "Parking"})
    admin.post("/config/fund-groups/new/", {"name": "Revenues"})
    parking, revenues = (
        FundGroup.objects.get(name="Parking"),
        FundGroup.objects.get(name="Revenues"),
    )
    FundFactory(code="PCN", name="Penalty charges", group=parking)
    FundFactory(code="CTX", name="Council Tax", group=revenues)
    admin.post(f"/config/fund-groups/{parking.pk}/", {"name": "Parking", "staff": [officer.pk]})

    officer_client = host_client(council_a)
    officer_client.login(email=officer.email, password=PASSWORD)
    officer_page = officer_client.get("/receipts/new/").content.decode()
    assert "Penalty charges" in officer_page and "Council Tax" not in officer_page
    admin_page = admin.get("/receipts/new/").content.decode()
    assert "Penalty charges" in admin_page and "Council Tax" in admin_page
