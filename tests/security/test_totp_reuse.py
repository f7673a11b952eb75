"""A TOTP code signs in once: allauth marks a used code in the cache, and that cache must be one
for every council's host and every process (tenants.security_cache). The same across two real
processes: tests/security/test_two_processes.py."""

import pytest
from django.core.cache import caches
from django.db import connection

from tests.conftest import host_client
from tests.factories import totp_code_now
from tests.security.conftest import SECOND_FACTOR, give_code, give_password

pytestmark = pytest.mark.django_db


def test_one_code_signs_a_shared_person_in_on_one_host_only(shared_person, council_a, council_b):
    north, south, platform = host_client(council_a), host_client(council_b), host_client(None)
    for client in (north, south, platform):
        assert give_password(client, shared_person.email)["Location"] == SECOND_FACTOR
    code = totp_code_now(shared_person.email)

    assert give_code(north, code).status_code == 302
    assert north.get("/team/councils/").status_code == 200

    for client in (south, platform):
        refused = give_code(client, code)
        assert refused.status_code == 200
        assert b"Incorrect code" in refused.content
        assert "_auth_user_id" not in client.session


def test_a_used_code_is_kept_in_the_shared_table_not_under_a_council(shared_person, council_a):
    north = host_client(council_a)
    give_password(north, shared_person.email)
    code = totp_code_now(shared_person.email)
    assert give_code(north, code).status_code == 302

    used_key = f"allauth.mfa.totp.used?user={shared_person.pk}&code={code}"
    # In the "account_security" cache, whichever schema the connection is on...
    assert caches["account_security"].get(used_key) == "y"
    assert caches["default"].get(used_key) == "y"
    # ...which, without Redis, is PostgreSQL's table in the public schema, where every
    # process reads it; and nothing of it is in the per-council, per-process cache.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM public.account_security_cache WHERE cache_key LIKE %s",
            [f"%{used_key}"],
        )
        assert cursor.fetchone()[0] == 1
    assert caches["council"].get(used_key) is None
