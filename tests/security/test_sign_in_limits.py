"""Wrong passwords and wrong codes are counted per account, whichever host they are typed on
(tenants.account_adapter, tenants.second_factor_lock), and a host where someone is not a member
cannot tell their right password from a wrong one (tenants.authentication). Across two real
processes: tests/security/test_two_processes.py."""

import pytest
from django.core import mail
from django.utils import timezone

from tenants import second_factor_lock
from tests.conftest import host_client, make_member
from tests.factories import totp_code_now
from tests.security.conftest import LOGIN, SECOND_FACTOR, give_code, give_password

pytestmark = pytest.mark.django_db

NOT_CORRECT = b"The email address and/or password you specified are not correct."
TOO_MANY = b"Too many failed login attempts"


def wrong_code(right: str) -> str:
    return f"{(int(right) + 500_000) % 1_000_000:06d}"


def test_wrong_passwords_on_one_host_lock_the_account_on_every_other(
    shared_person, council_a, council_b
):
    north, south, platform = host_client(council_a), host_client(council_b), host_client(None)
    for _ in range(5):
        assert NOT_CORRECT in give_password(north, shared_person.email, "wrong-password").content

    for client in (south, platform):
        refused = give_password(client, shared_person.email)
        assert TOO_MANY in refused.content
        assert refused.status_code == 200


def test_the_address_is_counted_however_it_is_typed(shared_person, council_a, council_b):
    north, south = host_client(council_a), host_client(council_b)
    for login in (shared_person.email.upper(), f" {shared_person.email} ") * 2:
        give_password(north, login, "wrong-password")
    give_password(south, shared_person.email, "wrong-password")

    assert TOO_MANY in give_password(south, shared_person.email).content


def test_wrong_codes_on_two_hosts_lock_the_second_factor_and_the_person_is_told(
    shared_person, council_a, council_b
):
    north, south = host_client(council_a), host_client(council_b)
    for client in (north, south):
        assert give_password(client, shared_person.email)["Location"] == SECOND_FACTOR
    right = totp_code_now(shared_person.email)

    for client in (north, north, south, south):
        assert b"Incorrect code" in give_code(client, wrong_code(right)).content
    assert mail.outbox == []
    fifth = give_code(north, wrong_code(right))

    assert b"Too many wrong codes: two-factor sign-in to this account is locked until" in (
        fifth.content
    )
    assert second_factor_lock.failures(shared_person.pk) == 5
    # Locked: even the right code is refused, on either host, and not even checked.
    for client in (north, south):
        refused = give_code(client, right)
        assert b"is locked until" in refused.content
        assert "_auth_user_id" not in client.session
    (email,) = mail.outbox
    assert email.to == [shared_person.email]
    assert email.subject == "Counterfoil: Two-factor sign-in to your account is locked"
    assert "someone knows your password" in email.body
    assert "http://north-test.localhost/accounts/password/reset/" in email.body


def test_the_lock_grows_longer_each_time_and_the_right_code_clears_the_count(shared_person):
    for _ in range(4):
        assert second_factor_lock.record_wrong_code(shared_person.pk) is None
    first = second_factor_lock.record_wrong_code(shared_person.pk)
    for _ in range(4):
        second_factor_lock.record_wrong_code(shared_person.pk)
    second = second_factor_lock.record_wrong_code(shared_person.pk)

    assert first is not None and second is not None
    now = timezone.now()
    assert 14 * 60 < (first - now).total_seconds() <= 15 * 60
    assert 29 * 60 < (second - now).total_seconds() <= 30 * 60
    second_factor_lock.forget_wrong_codes(shared_person.pk)
    assert second_factor_lock.locked_until(shared_person.pk) is None
    assert second_factor_lock.failures(shared_person.pk) == 0


def test_a_host_where_someone_is_not_a_member_cannot_tell_their_right_password(
    council_a, council_b, operator
):
    northerner = make_member(council_a)
    south = host_client(council_b)

    for person in (northerner, operator):
        right = give_password(south, person.email)
        wrong = give_password(south, person.email, "wrong-password")
        assert right.status_code == wrong.status_code == 200
        assert NOT_CORRECT in right.content and NOT_CORRECT in wrong.content
        assert south.get(SECOND_FACTOR)["Location"] == LOGIN  # no second step begun
    # The same password on their own host goes on to the second factor.
    assert give_password(host_client(council_a), northerner.email)["Location"] == SECOND_FACTOR


def test_a_code_sent_while_another_is_being_checked_waits_and_is_not_checked_beside_it(
    shared_person, council_a
):
    # Another process is checking a code for this person (it holds the person's mutex): a
    # guess sent in parallel is refused unchecked rather than checked before the other counts.
    client = host_client(council_a)
    assert give_password(client, shared_person.email)["Location"] == SECOND_FACTOR
    right = totp_code_now(shared_person.email)
    with second_factor_lock._one_at_a_time(shared_person.pk):
        refused = give_code(client, right)

    assert b"Another code for this account is being checked: wait a moment" in refused.content
    assert "_auth_user_id" not in client.session
    assert second_factor_lock.failures(shared_person.pk) == 0
