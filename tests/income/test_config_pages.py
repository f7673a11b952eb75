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
        ({"ledger_code": "L100\r\nL200"}, "Keep this on one line, without tabs or line breaks"),
        ({"cost_centre": "C1\tC2"}, "Keep this on one line, without tabs or line breaks"),
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
    assert "<code>500000001</code> is not valid.</p>" in page.content.decode()
    assert "should be" not in page.content.decode()
    bad_config = client.post(
        "/config/reference-rules/new/", {"name": "Broken", "pattern": "(", "modulus": "11"}
    )
    assert "This is not a valid regular expression" in bad_config.content.decode()

    council_tax.reference_rule = rule
    council_tax.save()
    from income.fund_checks import fund_reference_problem

    # Staff are told only that it is not valid: nothing that makes it another valid one.
    assert fund_reference_problem(council_tax, "500000001") == (
        "The reference for CTAX is not valid."
    )
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


def test_a_fund_code_already_taken_is_refused_whatever_its_case(ledger, council_a, council_tax):
    client = client_as(council_a, CouncilRole.ADMIN)
    page = client.post("/config/funds/new/", {**FUND, "code": "ctax"}).content.decode()
    assert "There is already a fund with the code CTAX." in page
    assert "<title>Error: " in page
    assert Fund.objects.filter(code="CTAX").count() == 1


def test_an_admin_disables_and_enables_a_fund_and_the_list_and_history_say_so(
    ledger, council_a, council_tax
):
    client = client_as(council_a, CouncilRole.ADMIN)
    assert (
        client.post(f"/config/funds/{council_tax.pk}/enabled/", {"enabled": "0"}).status_code == 302
    )
    council_tax.refresh_from_db()
    assert not council_tax.is_active
    listed = client.get("/config/funds/").content.decode()
    assert "Disabled" in listed and ">Enable<" in listed
    event = AuditEvent.objects.get(action="fund.disabled", target_id=str(council_tax.pk))
    assert (event.before["is_active"], event.after["is_active"]) == (True, False)

    client.post(f"/config/funds/{council_tax.pk}/enabled/", {"enabled": "1"})
    council_tax.refresh_from_db()
    assert council_tax.is_active
    history = client.get(f"/config/funds/{council_tax.pk}/").content.decode()
    assert "fund.disabled" in history and "fund.enabled" in history
    assert "Is active: <del>True</del> → <ins>False</ins>" in history


def test_the_fund_list_shows_limits_channels_and_vat_and_filters_by_group(
    ledger, council_a, cash, card
):
    from income.models import FundGroup
    from tests.factories import FundFactory

    parking = FundGroup.objects.create(name="Parking")
    pcn = FundFactory(
        code="PCN", name="Penalty charges", group=parking, min_amount_pence=100,
        max_amount_pence=25_000, vat_code=VatCode.objects.get(code="N0"), ledger_code="GL100",
    )  # fmt: skip
    pcn.channels.set([cash, card])
    FundFactory(code="LIB", name="Library fines", is_active=False)
    client = client_as(council_a, CouncilRole.ADMIN)

    page = client.get("/config/funds/").content.decode()
    assert "£1.00 to £250.00" in page
    assert "Card (GOV.UK Pay), Cash" in page
    assert "N0 (0%)" in page and "GL100" in page
    assert "Library fines" in page and "Disabled" in page

    grouped = client.get("/config/funds/", {"group": parking.pk}).content.decode()
    assert "Penalty charges" in grouped and "Library fines" not in grouped
    ungrouped = client.get("/config/funds/", {"group": "none"}).content.decode()
    assert "Library fines" in ungrouped and "Penalty charges" not in ungrouped


def test_disabled_vat_codes_and_channels_are_not_offered_for_new_funds(ledger, council_a, cash):
    VatCode.objects.filter(code="E0").update(is_disabled=True)
    cash.is_disabled = True
    cash.save()
    client = client_as(council_a, CouncilRole.ADMIN)
    page = client.get("/config/funds/new/").content.decode()
    assert "W0 (20%)" in page and "E0 (0%)" not in page
    assert ">Cheque</label>" in page and ">Cash</label>" not in page
    response = client.post("/config/funds/new/", {**FUND, "channels": [cash.pk]})
    assert "Select a valid choice" in response.content.decode()
    assert not Fund.objects.filter(code="BINS").exists()


def test_vat_codes_are_edited_disabled_and_refused_when_duplicated(ledger, council_a):
    client = client_as(council_a, CouncilRole.ADMIN)
    standard = VatCode.objects.get(code="W0")
    assert 'value="20"' in client.get(f"/config/vat-codes/{standard.pk}/").content.decode()
    client.post(
        f"/config/vat-codes/{standard.pk}/",
        {"code": "W0", "name": "Standard rate", "rate": "17.5", "effective_from": "01/04/2011"},
    )
    standard.refresh_from_db()
    assert standard.rate_basis_points == 1750 and str(standard.effective_from) == "2011-04-01"
    assert "17.50%" in client.get("/config/vat-codes/").content.decode()

    duplicate = client.post("/config/vat-codes/new/", {"code": "w0", "name": "Again", "rate": "5"})
    assert "There is already a VAT code with this code." in duplicate.content.decode()
    symbols = client.post("/config/vat-codes/new/", {"code": "W-", "name": "x", "rate": "5"})
    assert "A VAT code is 1 to 4 letters or digits, like W0." in symbols.content.decode()

    client.post(f"/config/vat-codes/{standard.pk}/enabled/", {"enabled": "0"})
    standard.refresh_from_db()
    assert standard.is_disabled
    assert AuditEvent.objects.filter(action="vatcode.disabled").exists()


def test_bad_channel_settings_are_explained(ledger, council_a):
    client = client_as(council_a, CouncilRole.ADMIN)
    channel = {"code": "kiosk", "name": "Kiosk", "kind": "card", "min_amount_pence": "5.00"}
    below = client.post("/config/channels/new/", {**channel, "max_amount_pence": "1.00"})
    assert "The maximum must be at least the minimum." in below.content.decode()
    symbols = client.post("/config/channels/new/", {**channel, "code": "KI;OSK"})
    assert "A channel code is up to 20 letters, digits, hyphens or underscores" in (
        symbols.content.decode()
    )
    duplicate = client.post("/config/channels/new/", {**channel, "code": "cash"})
    assert "There is already a channel with this code." in duplicate.content.decode()
    assert not Channel.objects.filter(name="Kiosk").exists()


def test_who_works_a_fund_group_is_changed_on_its_page_and_recorded(ledger, council_a, officer):
    from income.models import FundGroup, FundGroupAccess

    client = client_as(council_a, CouncilRole.ADMIN)
    client.post("/config/fund-groups/new/", {"name": "Housing"})
    housing = FundGroup.objects.get(name="Housing")
    assert officer.email in client.get(f"/config/fund-groups/{housing.pk}/").content.decode()

    client.post(f"/config/fund-groups/{housing.pk}/", {"name": "Housing", "staff": [officer.pk]})
    assert FundGroupAccess.objects.filter(group=housing, user=officer).exists()
    client.post(f"/config/fund-groups/{housing.pk}/", {"name": "Housing rents"})
    assert not FundGroupAccess.objects.filter(group=housing).exists()

    added, removed = AuditEvent.objects.filter(action="fundgroup.changed").order_by("id")
    assert (added.before["staff"], added.after["staff"]) == ([], [officer.email])
    assert (removed.before["staff"], removed.after["staff"]) == ([officer.email], [])
    assert removed.after["name"] == "Housing rents"


def _every_config_post(council_tax, vat, channel, group, rule):
    """Each form on the configuration pages, with data an admin could have sent."""
    return [
        ("/config/funds/new/", FUND),
        (f"/config/funds/{council_tax.pk}/", {**FUND, "code": "CTAX"}),
        (f"/config/funds/{council_tax.pk}/enabled/", {"enabled": "0"}),
        ("/config/vat-codes/new/", {"code": "R5", "name": "Reduced", "rate": "5"}),
        (f"/config/vat-codes/{vat.pk}/", {"code": "W0", "name": "Changed", "rate": "1"}),
        (f"/config/vat-codes/{vat.pk}/enabled/", {"enabled": "0"}),
        ("/config/channels/new/", {"code": "K", "name": "Kiosk", "kind": "card"}),
        (f"/config/channels/{channel.pk}/", {"code": "CASH", "name": "Changed", "kind": "cash"}),
        (f"/config/channels/{channel.pk}/enabled/", {"enabled": "0"}),
        ("/config/fund-groups/new/", {"name": "New group"}),
        (f"/config/fund-groups/{group.pk}/", {"name": "Renamed"}),
        ("/config/reference-rules/new/", {"name": "New rule", "modulus": "10"}),
        (f"/config/reference-rules/{rule.pk}/", {"name": "Renamed", "modulus": "10"}),
        (f"/config/reference-rules/{rule.pk}/enabled/", {"enabled": "0"}),
    ]


@pytest.mark.parametrize("role", [CouncilRole.INCOME_OFFICER, CouncilRole.AUDITOR])
def test_officers_and_auditors_are_refused_every_configuration_change(
    ledger, council_a, council_tax, cash, role
):
    from income.models import FundGroup
    from income.views.config import ENTITIES

    vat = VatCode.objects.get(code="W0")
    group = FundGroup.objects.create(name="Revenues")
    rule = ReferenceRule.objects.create(name="Any")
    client = client_as(council_a, role)
    audited = AuditEvent.objects.count()
    counts = {slug: entity.model.objects.count() for slug, entity in ENTITIES.items()}

    for path, data in _every_config_post(council_tax, vat, cash, group, rule):
        assert client.post(path, data).status_code == 403, path
    for slug in ENTITIES:
        assert client.get(f"/config/{slug}/import/").status_code == 403, slug
        upload = SimpleUploadedFile("x.csv", b"name\nSneaky\n", content_type="text/csv")
        assert client.post(f"/config/{slug}/import/", {"file": upload}).status_code == 403, slug
        # Looking is allowed (auditors look); the page offers no way to change anything.
        listed = client.get(f"/config/{slug}/").content.decode()
        assert "Import from CSV" not in listed and "Disable" not in listed

    assert AuditEvent.objects.count() == audited
    assert counts == {slug: entity.model.objects.count() for slug, entity in ENTITIES.items()}
    council_tax.refresh_from_db(), vat.refresh_from_db(), cash.refresh_from_db()
    group.refresh_from_db(), rule.refresh_from_db()
    assert (council_tax.name, council_tax.is_active) == ("Council Tax", True)
    assert (vat.name, vat.rate_basis_points, vat.is_disabled) == ("Standard rate", 2000, False)
    assert (cash.name, cash.is_disabled) == ("Cash", False)
    assert (group.name, rule.name, rule.is_active) == ("Revenues", "Any", True)


def test_a_fund_of_council_b_is_not_found_on_council_a(council_a, council_b, ledger):
    from django_tenants.utils import schema_context

    from tests.factories import FundFactory

    with schema_context(council_b.schema_name):
        fund_b = FundFactory(code="BONLY", name="Only in B")
    assert not Fund.objects.filter(pk=fund_b.pk).exists()
    client = client_as(council_a, CouncilRole.ADMIN)
    assert client.get(f"/config/funds/{fund_b.pk}/").status_code == 404
    assert client.post(f"/config/funds/{fund_b.pk}/", {**FUND, "code": "BONLY"}).status_code == 404
    assert client.post(f"/config/funds/{fund_b.pk}/enabled/", {"enabled": "0"}).status_code == 404
    with schema_context(council_b.schema_name):
        fund_b.refresh_from_db()
        assert fund_b.is_active and fund_b.name == "Only in B"


def test_history_names_related_settings_by_their_codes(ledger, council_a, cash, card):
    client = client_as(council_a, CouncilRole.ADMIN)
    standard, exempt = VatCode.objects.get(code="W0"), VatCode.objects.get(code="E0")
    client.post("/config/funds/new/", {**FUND, "vat_code": standard.pk, "channels": [cash.pk]})
    fund = Fund.objects.get(code="BINS")
    client.post(
        f"/config/funds/{fund.pk}/",
        {**FUND, "code": "BINS", "vat_code": exempt.pk, "channels": [cash.pk, card.pk]},
    )
    event = AuditEvent.objects.get(action="fund.changed")
    assert (event.before["vat_code"], event.after["vat_code"]) == ("W0", "E0")
    assert (event.before["channels"], event.after["channels"]) == (["CASH"], ["CARD", "CASH"])
    history = client.get(f"/config/funds/{fund.pk}/").content.decode()
    assert "Vat code: <del>W0</del> → <ins>E0</ins>" in history


def test_the_configuration_index_links_every_area(ledger, council_a):
    page = client_as(council_a, CouncilRole.ADMIN).get("/config/").content.decode()
    for slug in ("funds", "fund-groups", "vat-codes", "channels", "reference-rules"):
        assert f'href="/config/{slug}/"' in page, slug
    assert "which staff work each group" in page


def test_a_luhn_rules_page_shows_the_luhn_algorithm_not_modulus_11(ledger, council_a):
    # As the demo makes it: the modulus left at its default of 11, which Luhn never uses.
    rule = ReferenceRule.objects.create(
        name="Council Tax account", input_mask="5#######", check_digit_method="luhn"
    )
    assert rule.modulus == 10
    ReferenceRule.objects.filter(pk=rule.pk).update(modulus=11)  # as stored before 0025

    for role in (CouncilRole.AUDITOR, CouncilRole.ADMIN):
        page = client_as(council_a, role).get(f"/config/reference-rules/{rule.pk}/")
        text = page.content.decode()
        assert (
            '<dd class="govuk-summary-list__value" id="check-digit-algorithm">Luhn (modulus 10)'
        ) in text
        assert "Modulus 11" not in text.split('id="check-digit-algorithm"')[1].split("</dd>")[0]
