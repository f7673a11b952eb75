"""An audit record's before and after read as "Field: value" lines, not as Python dicts."""

import pytest
from django_tenants.utils import schema_context

from tenants.audit.recording import record_audit
from tenants.models import CouncilRole
from tenants.templatetags.audit_details import audit_fields
from tests.conftest import host_client, make_member, sign_in

pytestmark = pytest.mark.django_db


def test_the_audit_log_shows_each_field_and_value_on_its_own_line(council_a):
    auditor = make_member(council_a, CouncilRole.AUDITOR)
    with schema_context(council_a.schema_name):
        record_audit(
            "fund.changed",
            acting_user=auditor,
            before={"name": "Council Tax", "max_amount_pence": 150_000, "is_public": False},
            after={"name": "Council Tax (all bands)", "max_amount_pence": None,
                   "is_public": True, "channels": ["Cash", "Card"]},
        )  # fmt: skip
    page = sign_in(host_client(council_a), auditor).get("/team/audit/").content.decode()

    assert (
        'Before:<ul class="govuk-list govuk-body-s govuk-!-margin-bottom-1"><li>Is public: no</li>'
        "<li>Max amount: £1,500.00</li><li>Name: Council Tax</li></ul>"
    ) in page
    assert (
        "<li>Channels: Cash, Card</li><li>Is public: yes</li><li>Max amount: none</li>"
        "<li>Name: Council Tax (all bands)</li>"
    ) in page
    assert "{&#x27;" not in page and "&#x27;name&#x27;" not in page


def test_values_are_escaped_and_nested_records_read_plainly():
    html = audit_fields({"payer": "<script>", "split": {"fund": "CTAX", "amount_pence": -250}})
    assert html == (
        '<ul class="govuk-list govuk-body-s govuk-!-margin-bottom-1"><li>Payer: &lt;script&gt;'
        "</li><li>Split: Amount: -£2.50; Fund: CTAX</li></ul>"
    )
