"""Signing in through the form records its time on the person, as Django does (the receiver is
tenants.last_login's, which also lets a sign-in through while a Citus worker is down: that
case is in tests/citus/test_node_faults.py)."""

import pytest

from tenants.models import CouncilRole
from tests.conftest import host_client, make_member
from tests.factories import PASSWORD, totp_code_now

pytestmark = pytest.mark.django_db


def test_signing_in_records_when(council_a):
    member = make_member(council_a, CouncilRole.INCOME_OFFICER)
    assert member.last_login is None
    client = host_client(council_a)

    client.post("/accounts/login/", {"login": member.email, "password": PASSWORD})
    done = client.post("/accounts/2fa/authenticate/", {"code": totp_code_now(member.email)})

    assert done.status_code == 302
    member.refresh_from_db()
    assert member.last_login is not None
