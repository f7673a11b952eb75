"""Locking a person's second factor after wrong codes, wherever they were typed.

Reaching the second factor means the password was right, so wrong codes there are someone
guessing with the password in hand. They are counted per account in the "account_security"
cache (one count for every host and process): every FAILURES_BEFORE_LOCK-th wrong code locks
the second factor, for FIRST_LOCK_SECONDS and then twice as long each time (at most a day), and
the person is emailed that it happened. While locked no code is even checked, so at most a few
dozen guesses a day reach an account, however many hosts or workers they are spread across.
The right code clears the count. allauth's own limit (ACCOUNT_RATE_LIMITS "login_failed",
per account and per address) still applies as well.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.core import context
from allauth.mfa.base.forms import AuthenticateForm, ReauthenticateForm
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tenants.account_links import account_link
from tenants.models import User

FAILURES_BEFORE_LOCK = 5
FIRST_LOCK_SECONDS = 15 * 60
LONGEST_LOCK_SECONDS = 24 * 60 * 60
# Wrong codes are forgotten this long after the last one (or the right code).
REMEMBERED_SECONDS = 24 * 60 * 60
CACHE_ALIAS = "account_security"


def _key(user_id: int) -> str:
    return f"second-factor-failures:{user_id}"


@contextmanager
def _one_at_a_time(user_id: int) -> Iterator[None]:
    """Counting is read-then-write: a lock taken with the cache's atomic add keeps guesses sent
    in parallel (to several workers) from each reading the same count."""
    cache = caches[CACHE_ALIAS]
    key = f"second-factor-mutex:{user_id}"
    deadline = time.monotonic() + 2
    while not cache.add(key, 1, timeout=10):
        if time.monotonic() > deadline:
            raise ValidationError(
                "Another code for this account is being checked: wait a moment and try again.",
                code="second_factor_busy",
            )
        time.sleep(0.02)
    try:
        yield
    finally:
        cache.delete(key)


def locked_until(user_id: int) -> datetime | None:
    state = caches[CACHE_ALIAS].get(_key(user_id))
    if state and state["locked_until"] > time.time():
        return datetime.fromtimestamp(state["locked_until"], tz=timezone.get_current_timezone())
    return None


def failures(user_id: int) -> int:
    state = caches[CACHE_ALIAS].get(_key(user_id))
    return state["failures"] if state else 0


def record_wrong_code(user_id: int) -> datetime | None:
    """Count a wrong code; the time the second factor is locked until, if this one locked it."""
    with _one_at_a_time(user_id):
        return _counted_wrong_code(user_id)


def _counted_wrong_code(user_id: int) -> datetime | None:
    """record_wrong_code, for a caller that holds the person's mutex."""
    cache = caches[CACHE_ALIAS]
    state = cache.get(_key(user_id)) or {"failures": 0, "locked_until": 0.0}
    state["failures"] += 1
    lock_seconds = 0
    if state["failures"] % FAILURES_BEFORE_LOCK == 0:
        locks = state["failures"] // FAILURES_BEFORE_LOCK
        lock_seconds = min(FIRST_LOCK_SECONDS * 2 ** (locks - 1), LONGEST_LOCK_SECONDS)
        state["locked_until"] = time.time() + lock_seconds
    cache.set(_key(user_id), state, timeout=REMEMBERED_SECONDS + lock_seconds)
    return locked_until(user_id) if lock_seconds else None


def forget_wrong_codes(user_id: int) -> None:
    caches[CACHE_ALIAS].delete(_key(user_id))


def locked_message(until: datetime | None) -> str:
    when = f" until {timezone.localtime(until):%H:%M}" if until else " for a few minutes"
    return (
        f"Too many wrong codes: two-factor sign-in to this account is locked{when}. We have "
        "emailed you about it. If it was not you, someone knows your password: reset it."
    )


def _email_the_person(user: User, until: datetime) -> None:
    request = context.request
    get_account_adapter(request).send_mail(
        "tenants/email/second_factor_locked",
        user.email,
        {
            "user": user,
            "locked_until": timezone.localtime(until),
            "failures": FAILURES_BEFORE_LOCK,
            "ip": request.META.get("REMOTE_ADDR", "") if request is not None else "",
            "reset_url": account_link(request, reverse("account_reset_password")),
        },
    )


class _LockingCodeCheck:
    """allauth's code check, refused while locked and counted when wrong."""

    user: User

    def clean_code(self) -> str:
        # The lock is read, the code checked and a wrong one counted as one step per person:
        # guesses sent in parallel would otherwise each pass the "not locked" check before any
        # of them was counted, and every one of them would be checked.
        with _one_at_a_time(self.user.pk):
            until = locked_until(self.user.pk)
            if until is not None:
                raise ValidationError(locked_message(until), code="second_factor_locked")
            try:
                code = super().clean_code()  # type: ignore[misc]
            except ValidationError as refused:
                if refused.code != "incorrect_code":
                    raise  # allauth's own rate limit, not a guess that was checked
                until = _counted_wrong_code(self.user.pk)
                if until is None:
                    raise
            else:
                forget_wrong_codes(self.user.pk)
                return code
        # Locked by this guess: the email is sent once the next guess may be looked at.
        _email_the_person(self.user, until)
        raise ValidationError(locked_message(until), code="second_factor_locked")


class LockingAuthenticateForm(_LockingCodeCheck, AuthenticateForm):
    pass


class LockingReauthenticateForm(_LockingCodeCheck, ReauthenticateForm):
    pass
