"""Finding 8: fund-group access was not enforced when raising a refund or choosing a
transfer's source fund, and receipts of every fund stayed visible in search and detail. A
member of staff restricted to some fund groups now sees and acts on only the receipts and
postings of those funds, in every list, page, download and action (income.fund_visibility)."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from income.actions.exports import request_export, run_export
from income.actions.receipts import Allocation, record_receipt
from income.actions.refunds import approve_refund, raise_refund
from income.actions.transfers import transfer_between_funds
from income.defaults import seed_income_defaults
from income.exports.layout import parse_fields
from income.fund_visibility import visible_receipts
from income.models import Channel, ExportTarget, FundGroup, FundGroupAccess, Refund
from income.receipt_search import ReceiptQuery, search_receipts
from tenants.models import CouncilRole, Membership
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD, FundFactory


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def council(db, in_council_a, council_a):
    """Revenues (Council Tax) and Housing (rents); the officer and one manager work Revenues
    only; the admin sees everything."""
    seed_income_defaults()
    revenues = FundGroup.objects.create(name="Revenues")
    housing = FundGroup.objects.create(name="Housing")
    ctax = FundFactory(code="CTAX", name="Council Tax", group=revenues)
    rent = FundFactory(code="HRENT", name="Housing Rents", group=housing)
    officer = make_member(council_a, CouncilRole.INCOME_OFFICER)
    manager = make_member(council_a, CouncilRole.FINANCE_MANAGER)
    for person in (officer, manager):
        FundGroupAccess.objects.create(user=person, group=revenues)
    cash = Channel.objects.get(code="CASH")

    def paid(key, allocations, payer):
        return record_receipt(
            channel=cash, amount_pence=sum(a.amount_pence for a in allocations),
            received_on=timezone.localdate(), allocations=allocations, idempotency_key=key,
            payer_name=payer, acting_user=None,
        ).receipt  # fmt: skip

    return {
        "council": council_a,
        "ctax": ctax,
        "rent": rent,
        "officer": officer,
        "manager": manager,
        "admin": make_member(council_a, CouncilRole.ADMIN),
        "tax_receipt": paid("t", [Allocation(ctax, 5_000)], "Pat Tax"),
        "rent_receipt": paid("r", [Allocation(rent, 7_000)], "Pat Rent"),
        "split_receipt": paid("s", [Allocation(ctax, 1_000), Allocation(rent, 2_000)], "Pat Both"),
        "suspense_receipt": paid("u", [Allocation(None, 900)], "Pat Unknown"),
    }


def signed_in(council, user):
    client = host_client(council)
    assert client.login(email=user.email, password=PASSWORD)
    return client


def membership(council, user):
    return Membership.objects.get(council=council, user=user)


def numbers(receipts):
    return sorted(receipt.number for receipt in receipts)


def test_search_lists_only_receipts_of_the_funds_they_work(council):
    c = council
    officer = membership(c["council"], c["officer"])
    found, _ = search_receipts(ReceiptQuery(payer="Pat"), visible_to=officer)
    assert numbers(found) == numbers([c["tax_receipt"], c["suspense_receipt"]])
    # Nothing valid dropped: the admin sees all four.
    found, _ = search_receipts(
        ReceiptQuery(payer="Pat"), visible_to=membership(c["council"], c["admin"])
    )
    assert len(found) == 4

    page = signed_in(c["council"], c["officer"]).get("/receipts/", {"payer": "Pat"})
    shown = set(re.findall(r"/receipts/([^/\"]+)/", page.content.decode()))
    assert c["tax_receipt"].number in shown
    assert c["rent_receipt"].number not in shown and c["split_receipt"].number not in shown


def test_another_funds_receipt_is_not_found_in_detail_or_download(council):
    c = council
    client = signed_in(c["council"], c["officer"])
    for receipt in (c["rent_receipt"], c["split_receipt"]):
        assert client.get(f"/receipts/{receipt.number}/").status_code == 404
        assert client.get(f"/receipts/{receipt.number}/", {"download": "1"}).status_code == 404
    assert client.get(f"/receipts/{c['tax_receipt'].number}/").status_code == 200
    assert (
        signed_in(c["council"], c["admin"])
        .get(f"/receipts/{c['rent_receipt'].number}/")
        .status_code
        == 200
    )


def test_a_refund_on_another_funds_receipt_is_refused(council):
    c = council
    client = signed_in(c["council"], c["officer"])
    assert client.get(f"/receipts/{c['rent_receipt'].number}/refund/").status_code == 404
    for receipt, fund in ((c["rent_receipt"], c["rent"]), (c["split_receipt"], c["ctax"])):
        with pytest.raises(PermissionDenied) as refusal:
            raise_refund(
                council=c["council"], receipt=receipt, fund=fund, amount_pence=500,
                reason="Overpaid", acting_user=c["officer"],
            )  # fmt: skip
        assert str(refusal.value) == (
            f"Receipt {receipt.number} holds money of funds you do not work."
        )
    assert not Refund.objects.exists()
    # Their own fund's receipt is refunded as before.
    raise_refund(
        council=c["council"], receipt=c["tax_receipt"], fund=c["ctax"], amount_pence=500,
        reason="Overpaid", acting_user=c["officer"],
    )  # fmt: skip
    assert Refund.objects.count() == 1


def test_refunds_of_other_funds_are_not_listed_shown_or_approved(council):
    c = council
    theirs = raise_refund(
        council=c["council"], receipt=c["rent_receipt"], fund=c["rent"], amount_pence=700,
        reason="Overpaid", acting_user=c["admin"],
    )  # fmt: skip
    client = signed_in(c["council"], c["manager"])
    assert f"/refunds/{theirs.pk}/" not in client.get("/refunds/").content.decode()
    assert client.get(f"/refunds/{theirs.pk}/").status_code == 404
    with pytest.raises(PermissionDenied):
        approve_refund(council=c["council"], refund=theirs, acting_user=c["manager"])
    theirs.refresh_from_db()
    assert theirs.status == "requested"


def test_a_transfer_neither_takes_from_nor_gives_to_a_fund_they_do_not_work(council):
    c = council
    client = signed_in(c["council"], c["officer"])
    assert client.get(f"/receipts/{c['rent_receipt'].number}/transfer/").status_code == 404
    with pytest.raises(PermissionDenied) as refusal:
        transfer_between_funds(
            council=c["council"], receipt=c["tax_receipt"], from_fund=c["ctax"],
            to_fund=c["rent"], amount_pence=1_000, note="Wrong fund", acting_user=c["officer"],
        )  # fmt: skip
    assert str(refusal.value) == (
        "You do not work HRENT Housing Rents: ask someone who works its fund group."
    )
    with pytest.raises(PermissionDenied):
        transfer_between_funds(
            council=c["council"], receipt=c["split_receipt"], from_fund=c["rent"],
            to_fund=c["ctax"], amount_pence=1_000, note="Mine now", acting_user=c["officer"],
        )  # fmt: skip
    assert visible_receipts(membership(c["council"], c["admin"])).count() == 4
    held = c["split_receipt"].postings.filter(account__fund=c["rent"]).count()
    assert held == 1  # nothing moved


def test_exports_of_other_funds_are_not_listed_run_or_downloaded(council):
    c = council
    rents = ExportTarget.objects.create(name="Housing file", fields=parse_fields("amount"))
    rents.funds.set([c["rent"]])
    taxes = ExportTarget.objects.create(name="Revenues file", fields=parse_fields("amount"))
    taxes.funds.set([c["ctax"]])
    everything = ExportTarget.objects.create(name="Every fund", fields=parse_fields("amount"))
    rent_run = run_export(council=c["council"], target=rents, acting_user=c["admin"])

    client = signed_in(c["council"], c["officer"])
    page = client.get("/exports/").content.decode()
    assert "Revenues file" in page
    assert "Housing file" not in page and "Every fund" not in page
    assert client.post("/exports/", {"target": rents.pk}).status_code == 404
    assert client.get(f"/exports/runs/{rent_run.pk}/").status_code == 404
    assert client.get(f"/exports/runs/{rent_run.pk}/file/").status_code == 404
    for target in (rents, everything):
        with pytest.raises(PermissionDenied) as refusal:
            request_export(council=c["council"], target=target, acting_user=c["officer"])
        assert str(refusal.value) == f"{target.name} exports funds you do not work."
    assert request_export(council=c["council"], target=taxes, acting_user=c["officer"])


def test_the_suspense_worklist_and_dashboard_show_only_their_funds(council):
    c = council
    client = signed_in(c["council"], c["officer"])
    worklist = client.get("/suspense/").content.decode()
    assert c["suspense_receipt"].number in worklist
    home = client.get("/").content.decode()
    assert "CTAX Council Tax" in home and "HRENT Housing Rents" not in home
    assert "HRENT Housing Rents" in signed_in(c["council"], c["admin"]).get("/").content.decode()


def test_returned_debits_of_other_funds_receipts_are_not_listed(council):
    from income.models import ReturnedDebit, ReturnedDebitStatus

    c = council
    for number, receipt in enumerate((c["tax_receipt"], c["rent_receipt"], None), start=1):
        ReturnedDebit.objects.create(
            idempotency_key=f"arudd:test:{number}", file_name="arudd.xml", item_number=number,
            reference=f"RETURN{number}", status=ReturnedDebitStatus.UNMATCHED, receipt=receipt,
        )  # fmt: skip
    officer_page = signed_in(c["council"], c["officer"]).get("/imports/returned-debits/")
    admin_page = signed_in(c["council"], c["admin"]).get("/imports/returned-debits/")
    shown = [
        ref for ref in ("RETURN1", "RETURN2", "RETURN3") if ref in officer_page.content.decode()
    ]
    assert shown == ["RETURN1", "RETURN3"]
    assert all(ref in admin_page.content.decode() for ref in ("RETURN1", "RETURN2", "RETURN3"))


def test_a_counter_payment_into_a_fund_they_do_not_work_is_refused_by_the_action(council):
    from income.actions.counter import take_counter_payment
    from income.models import Receipt

    c = council
    before = Receipt.objects.count()
    with pytest.raises(PermissionDenied) as refusal:
        take_counter_payment(
            council=c["council"], channel=Channel.objects.get(code="CASH"),
            received_on=timezone.localdate(), payer_name="Pat", narrative="",
            allocations=[Allocation(c["ctax"], 1_000), Allocation(c["rent"], 500)],
            submission_token="tok-rent", acting_user=c["officer"],
        )  # fmt: skip
    assert str(refusal.value) == (
        "You do not work HRENT Housing Rents: ask someone who works its fund group."
    )
    assert Receipt.objects.count() == before


def test_reports_which_add_up_every_fund_are_refused_to_someone_who_works_some(council):
    c = council
    restricted = signed_in(c["council"], c["officer"])
    for path in ("/reports/", "/reports/takings-by-fund/?format=csv"):
        response = restricted.get(path)
        assert response.status_code == 403, path
        assert b"CTAX" not in response.content and b"HRENT" not in response.content
    assert signed_in(c["council"], c["admin"]).get("/reports/").status_code == 200
