"""Part 2: approving a council sends billing's task by name, after commit; the customer it
makes carries the application's contact."""

import pytest
from celery.signals import before_task_publish

from billing.actions.customers import create_customer
from tenants.actions.applications import submit_application
from tenants.models import PlatformRole
from tests.conftest import host_client, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_approval_sends_billing_create_customer_after_commit(
    price_book, stripe_standin, django_capture_on_commit_callbacks
):
    application = submit_application(
        council_name="Billingham Borough Council",
        gss_code="E07000988",
        requested_slug="billingham",
        contact_name="Bill Ing",
        contact_email="bill@billingham.example",
        acting_user=None,
    )
    published: list[tuple[str, list]] = []

    def seen(sender: str, body: tuple, **kwargs: object) -> None:
        published.append((sender, list(body[0])))

    before_task_publish.connect(seen)
    try:
        operator = sign_in(host_client(None), UserFactory(platform_role=PlatformRole.OPERATOR))
        with django_capture_on_commit_callbacks(execute=True):
            answer = operator.post(f"/console/applications/{application.pk}/approve/")
    finally:
        before_task_publish.disconnect(seen)
    assert answer.status_code == 302
    application.refresh_from_db()
    assert ("billing.create_customer", [application.council_id]) in published

    account = create_customer(council_id=application.council_id)
    [customer] = stripe_standin.of_type("customer")
    assert (customer["id"], customer["email"]) == (
        account.stripe_customer_id,
        "bill@billingham.example",
    )
    assert customer["name"] == "Billingham Borough Council"
