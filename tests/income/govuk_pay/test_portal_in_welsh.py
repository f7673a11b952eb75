"""The portal in Welsh is wholly Welsh where it refuses something: the fund's Welsh name, the
"Gwall:" prefix and the check-digit message."""

from income.models import GovukPayConnection, ReferenceRule
from tests.conftest import host_client


def test_a_wrong_check_digit_is_refused_in_welsh_with_the_funds_welsh_name(paying_council):
    GovukPayConnection.objects.update(welsh_enabled=True)
    council_tax = paying_council["council_tax"]
    council_tax.name_cy = "Treth y Cyngor"
    council_tax.reference_rule = ReferenceRule.objects.create(
        name="Council Tax account", input_mask="5#######", check_digit_method="luhn"
    )
    council_tax.save()
    citizen = host_client(paying_council["council"])
    assert "Treth y Cyngor" in citizen.get("/pay/?lang=cy").content.decode()

    page = citizen.post(
        "/pay/", {"fund": council_tax.pk, "reference": "50000001", "amount": "10.00"}
    ).content.decode()

    assert (
        '<span class="govuk-visually-hidden">Gwall:</span> Rhowch y cyfeirnod yn union fel y '
        "mae ar eich bil neu hysbysiad Treth y Cyngor. Nid yw&#39;r cyfeirnod hwn yn ddilys."
    ) in page
    assert ">Error:<" not in page and "Council Tax bill" not in page


def test_the_portal_in_english_keeps_the_english_name_and_prefix(paying_council):
    council_tax = paying_council["council_tax"]
    council_tax.name_cy = "Treth y Cyngor"
    council_tax.save()
    citizen = host_client(paying_council["council"])

    page = citizen.post(
        "/pay/", {"fund": council_tax.pk, "reference": "", "amount": "10.00"}
    ).content.decode()

    assert '<span class="govuk-visually-hidden">Error:</span>' in page
    assert "Treth y Cyngor" not in page and "Council Tax" in page
