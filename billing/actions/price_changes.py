"""A price change mid-period: on the day a new price book row takes effect, each council's
subscription moves to it.

Stripe's calls (flexible billing mode, `proration_behavior=create_prorations`, the change dated
the start of the day): the old fixed share is credited for its unused time and the new one
charged for the rest of the period; each old metered price, removed, bills the usage reported
so far at the old price, and the new metered price counts usage from the change. So the
council's usage is sent up to yesterday first: the old days stay on the old price.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from billing import stripe_gateway
from billing.actions import metering
from billing.actions.customers import subscription_prices
from billing.models import BillingAccount
from tenants.audit.recording import record_audit
from tenants.models import Council


def move_to_current_prices(
    *, council: Council, acting_user: Any, today: date | None = None
) -> dict[str, list[str]]:
    """Swap the subscription's prices for the price book's of `today`; what was removed and
    added (nothing when it already has them, so running again changes nothing)."""
    today = today or timezone.localdate()
    account = BillingAccount.objects.filter(council=council).first()
    if account is None or not account.stripe_subscription_id:
        return {"removed": [], "added": []}
    subscription = stripe_gateway.retrieve_subscription(account.stripe_subscription_id)
    if subscription.status == "canceled":
        return {"removed": [], "added": []}
    wanted = [row.stripe_price_id for row in subscription_prices(account, on=today)]
    held = {item.price.id: item.id for item in subscription["items"].data}
    removed = [price for price in held if price not in wanted]
    added = [price for price in wanted if price not in held]
    if not removed and not added:
        return {"removed": [], "added": []}
    # The old price's usage must be in Stripe before that price leaves the subscription.
    metering.meter_council(council, today - timedelta(days=1))
    if subscription.billing_mode.type != "flexible":
        stripe_gateway.move_to_flexible_billing(subscription=subscription.id)
    changed = stripe_gateway.change_subscription_prices(
        # The same change asked again (a retried task) is the same request to Stripe.
        key=f"{council.schema_name}:{today.isoformat()}:{','.join(sorted(added + removed))}",
        subscription=subscription.id,
        remove_items=[held[price] for price in removed],
        add_prices=added,
        proration_date=max(
            int(datetime.combine(today, time(), tzinfo=UTC).timestamp()),
            min((item.current_period_start for item in subscription["items"].data), default=0),
        ),
    )
    created = [item.created for item in changed["items"].data if item.price.id in added]
    account.prices_changed_at = max(created, default=int(timezone.now().timestamp()))
    account.prices_effective_on = today
    account.save(update_fields=["prices_changed_at", "prices_effective_on"])
    change = {"removed": removed, "added": added}
    record_audit(
        "billing.subscription_prices_changed",
        acting_user=acting_user,
        target=account,
        before={"prices": list(held)},
        after={**change, "effective": today.isoformat()},
    )
    return change
