"""Payments taken by staff at the cash office counter."""

import datetime
from collections.abc import Sequence

from django.core.exceptions import ValidationError

from income.actions.receipts import Allocation, RecordedReceipt, record_receipt
from income.fund_visibility import require_funds_visible
from income.models import Channel
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User


def take_counter_payment(
    *,
    council: Council,
    channel: Channel,
    received_on: datetime.date,
    payer_name: str,
    narrative: str,
    allocations: Sequence[Allocation],
    submission_token: str,
    acting_user: User,
) -> RecordedReceipt:
    """Receipt a cash or cheque payment across one or more funds.

    `submission_token` is issued with the form, so pressing "Take payment" twice (or the
    browser resending the form) records one receipt.
    """
    membership = require_council_capability(acting_user, council, Capability.TAKE_PAYMENTS)
    # The action's own check, not only the form's list: a restricted officer takes payments
    # only into the funds they work.
    require_funds_visible(membership, *(allocation.fund for allocation in allocations))
    if not channel.taken_by_staff:
        raise ValidationError(f"{channel.name} payments are not taken at the counter.")
    if not allocations:
        raise ValidationError("Enter at least one fund and amount.")
    if not submission_token or len(submission_token) > 64:
        raise ValidationError("This form has expired: start the payment again.")
    return record_receipt(
        channel=channel,
        amount_pence=sum(allocation.amount_pence for allocation in allocations),
        received_on=received_on,
        allocations=allocations,
        idempotency_key=f"counter:{acting_user.pk}:{submission_token}",
        acting_user=acting_user,
        payer_reference=allocations[0].reference,
        payer_name=payer_name,
        narrative=narrative,
    )
