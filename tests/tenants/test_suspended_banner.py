"""Every page of a suspended council tells its staff so, and why, before anything is refused."""

import pytest
from django.utils import timezone

from tenants.council_directory import council_directory
from tenants.models import Council, CouncilRole, CouncilStatus
from tests.conftest import host_client, make_member, sign_in

pytestmark = pytest.mark.django_db

BANNER = "Northbrook Test Council is suspended: you can look and export, but nothing can change."


@pytest.mark.parametrize("path", ["/", "/receipts/", "/cash-ups/", "/config/", "/team/"])
def test_every_page_of_a_suspended_council_says_so_and_why(council_a, path):
    client = sign_in(host_client(council_a), make_member(council_a, CouncilRole.ADMIN))
    assert BANNER not in client.get(path).content.decode()

    Council.objects.filter(pk=council_a.pk).update(
        status=CouncilStatus.SUSPENDED,
        status_reason="Invoices unpaid since September",
        status_changed=timezone.now(),
    )
    council_directory.forget()
    page = client.get(path)

    assert page.status_code == 200
    text = page.content.decode()
    assert BANNER in text and ": Invoices unpaid since September</p>" in text
