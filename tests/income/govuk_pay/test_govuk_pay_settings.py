"""The GOV.UK Pay connection page: admins only, keys encrypted and shown by their ends, the
webhook URL on the council's own .gov.uk name, the connection test."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection as db_connection

from income.actions.govuk_pay.connections import CONNECTION_TEST_FAILED, save_connection
from income.models import GovukPayConnection
from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole, Domain
from tenants.secrets_at_rest import decrypt
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD

SETTINGS = "/govuk-pay/settings/"
KEY = "api_test_abcdefghijklmnopqrstuvwxyz0123456789wxyz"


def signed_in(council, user):
    client = host_client(council)
    assert client.login(email=user.email, password=PASSWORD)
    return client


def test_an_admin_saves_the_key_which_is_stored_encrypted_and_shown_by_its_end(
    ledger, admin, standin
):
    standin.add_service(KEY)
    client = signed_in(ledger, admin)
    response = client.post(
        SETTINGS,
        {"api_key": KEY, "webhook_secret": "whsec_0123456789abcdef", "base_url": standin.url},
    )
    assert response.status_code == 302
    connection = GovukPayConnection.objects.get()
    assert KEY not in connection.api_key_encrypted
    assert decrypt(connection.api_key_encrypted) == KEY
    assert decrypt(connection.webhook_secret_encrypted) == "whsec_0123456789abcdef"
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT api_key_encrypted, webhook_secret_encrypted FROM income_govukpayconnection"
        )
        assert all(KEY not in column and "whsec_0123" not in column for column in cursor.fetchone())

    page = client.get(SETTINGS).content.decode()
    assert "ending wxyz" in page and "ending cdef" in page
    assert KEY not in page and "whsec_0123456789abcdef" not in page
    assert f"http://{ledger.slug}.localhost/govuk-pay/webhook/" in page

    event = AuditEvent.objects.get(action="govuk_pay.connection_saved")
    assert KEY not in str(event.after) and event.after["api_key_ends"] == "wxyz"


def test_saving_with_blank_keys_keeps_the_ones_saved(ledger, admin, standin):
    save_connection(council=ledger, acting_user=admin, api_key=KEY, webhook_secret="s" * 20)
    client = signed_in(ledger, admin)
    client.post(SETTINGS, {"api_key": "", "webhook_secret": "", "welsh_enabled": "on"})
    connection = GovukPayConnection.objects.get()
    assert decrypt(connection.api_key_encrypted) == KEY
    assert connection.welsh_enabled


def test_the_webhook_url_is_on_the_councils_own_gov_uk_name(ledger, admin):
    from django.utils import timezone

    Domain.objects.create(
        domain="payments.northbrook.gov.uk", tenant=ledger, is_primary=False,
        verified_at=timezone.now(),
    )  # fmt: skip
    page = signed_in(ledger, admin).get(SETTINGS).content.decode()
    assert "https://payments.northbrook.gov.uk/govuk-pay/webhook/" in page


def test_test_connection_says_whether_gov_uk_pay_accepts_the_key(ledger, admin, standin):
    standin.add_service(KEY)
    save_connection(council=ledger, acting_user=admin, api_key=KEY, base_url=standin.url)
    connection = GovukPayConnection.objects.get()
    client = signed_in(ledger, admin)
    page = client.post(f"{SETTINGS}{connection.pk}/test/", follow=True).content.decode()
    assert "Connected: GOV.UK Pay accepted the key" in page

    save_connection(council=ledger, acting_user=admin, api_key="api_test_revoked_key_000000")
    page = client.post(f"{SETTINGS}{connection.pk}/test/", follow=True).content.decode()
    assert CONNECTION_TEST_FAILED in page.replace("&#x27;", "'")


@pytest.mark.parametrize("role", [CouncilRole.FINANCE_MANAGER, CouncilRole.INCOME_OFFICER])
def test_only_admins_see_or_change_the_connection(ledger, role):
    member = make_member(ledger, role)
    client = signed_in(ledger, member)
    assert client.get(SETTINGS).status_code == 403
    assert client.post(SETTINGS, {"api_key": KEY}).status_code == 403
    assert not GovukPayConnection.objects.exists()
    with pytest.raises(PermissionDenied):
        save_connection(council=ledger, acting_user=member, api_key=KEY)


def test_anonymous_people_are_sent_to_sign_in(ledger):
    response = host_client(ledger).get(SETTINGS)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_fund_may_have_its_own_service(ledger, admin, standin):
    from tests.factories import FundFactory

    housing = FundFactory(code="HRENT", name="Housing Rents")
    client = signed_in(ledger, admin)
    client.post(SETTINGS, {"api_key": KEY})
    client.post(SETTINGS, {"fund": housing.pk, "api_key": KEY + "housing"})
    assert GovukPayConnection.objects.count() == 2
    assert decrypt(GovukPayConnection.objects.get(fund=housing).api_key_encrypted).endswith(
        "housing"
    )
