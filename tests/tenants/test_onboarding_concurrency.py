"""Two operators pressing Approve at the same moment still make one council and one invitation:
approval runs under an advisory lock on the application, and each step checks what is done."""

import pytest

from tenants.actions.applications import approve_application, submit_application
from tenants.models import Council, CouncilApplication, Invitation, PlatformRole
from tests.concurrency import run_at_once
from tests.factories import UserFactory


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Outside any test transaction: each thread has its own connection and must see the
    others' commits. The session's test database is dropped at the end."""
    with django_db_blocker.unblock():
        yield


def test_two_approvals_at_once_make_one_council(committed):
    operators = [UserFactory(platform_role=PlatformRole.OPERATOR) for _ in range(2)]
    application = submit_application(
        council_name="Twinfield Council", gss_code="W06000099", requested_slug="twinfield",
        contact_name="Tam", contact_email="tam@twinfield.example", acting_user=None,
    )  # fmt: skip

    def approve(ready, operator) -> int:
        ready()
        return approve_application(application=application, acting_user=operator).pk

    results = run_at_once(approve, [(operator,) for operator in operators], timeout=120)

    assert len(set(results)) == 1
    assert Council.objects.filter(slug="twinfield").count() == 1
    council = Council.objects.get(slug="twinfield")
    assert (council.status, council.provisioning_state) == ("active", "ready")
    assert Invitation.objects.filter(council=council).count() == 1
    assert CouncilApplication.objects.get(pk=application.pk).council_id == council.pk
