"""The Stripe stand-in's subscriptions through time: changing prices mid-period, cancelling with
a final invoice, and the invoice at a period's end (what a test clock passing it makes).

Behaviour built to Stripe's published contract (docs.stripe.com, "Manage your usage-based
billing setup" and "Prorations"; the `stripe` 16.x parameters):

- A subscription's items each hold a price and the period they are billed for. Licensed
  (fixed) prices are billed in advance for the period; metered prices in arrears, from the
  meter's events whose timestamps fall in the item's time on the subscription.
- Updating items with `proration_behavior` other than `none` prorates licensed prices by the
  second from `proration_date` (default now): a credit for the removed price's unused time and
  a charge for the new one's, as pending invoice items for the next invoice.
- With `billing_mode=flexible`, removing a metered price makes a pending invoice item billing
  the usage reported so far at that price; with `classic` that usage is never billed (Stripe
  documents this limitation, hence flexible billing mode).
- `DELETE /v1/subscriptions/{id}` with `invoice_now` makes a final invoice of the pending
  invoice items and the usage so far; with `prorate`, a credit for the fixed prices' unused
  time. A cancelled subscription cannot be cancelled again.
"""

import calendar
import secrets
from datetime import UTC, datetime
from typing import Any


def add_month(timestamp: int) -> int:
    """The same moment a calendar month later (the 31st runs to the month's last day)."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def _truthy(value: Any) -> bool:
    return str(value).lower() == "true"


def new_item(subscription: dict[str, Any], price: dict[str, Any], now: int) -> dict[str, Any]:
    """A subscription item in the subscription's current period, its usage counted from now."""
    metered = price["recurring"]["usage_type"] == "metered"
    return {
        "id": _new_id("si"),
        "object": "subscription_item",
        "created": now,
        "metadata": {},
        "price": price,
        "quantity": None if metered else 1,
        "subscription": subscription["id"],
        "tax_rates": [],
        "current_period_start": subscription["_period_start"],
        "current_period_end": subscription["_period_end"],
        # Not a Stripe field (kept out of answers): from when this item's usage counts.
        "_usage_from": now,
    }


def public(subscription: dict[str, Any]) -> dict[str, Any]:
    """The subscription as Stripe answers it (without the stand-in's own bookkeeping)."""
    items = [
        {key: value for key, value in item.items() if not key.startswith("_")}
        for item in subscription["items"]["data"]
    ]
    shown = {key: value for key, value in subscription.items() if not key.startswith("_")}
    return {**shown, "items": {**subscription["items"], "data": items}}


class Subscriptions:
    """Subscription behaviour over the stand-in's objects and meter events (under its lock)."""

    def __init__(self, standin: Any) -> None:
        self.standin = standin

    # --- usage --------------------------------------------------------------------------

    def usage(self, customer: str, price: dict[str, Any], start: int, end: int) -> int:
        """The meter's aggregate for the customer over [start, end): `sum` or `last`."""
        meter = self.standin.objects[price["recurring"]["meter"]]
        events = sorted(
            (
                event
                for event in self.standin.meter_events.values()
                if event["event_name"] == meter["event_name"]
                and event["payload"].get("stripe_customer_id") == customer
                and start <= event["timestamp"] < end
            ),
            key=lambda event: (event["timestamp"], event["created"]),
        )
        values = [int(event["payload"]["value"]) for event in events]
        if meter["default_aggregation"]["formula"] == "last":
            return values[-1] if values else 0
        return sum(values)

    # --- invoice items and invoices -----------------------------------------------------

    def _invoice_item(
        self,
        subscription: dict[str, Any],
        price: dict[str, Any],
        *,
        amount: int,
        quantity: int,
        start: int,
        end: int,
        description: str,
        proration: bool,
    ) -> dict[str, Any]:
        item = {
            "id": _new_id("ii"),
            "object": "invoiceitem",
            "amount": amount,
            "currency": "gbp",
            "customer": subscription["customer"],
            "date": self.standin.now,
            "description": description,
            "discountable": not proration,
            "invoice": None,
            "livemode": False,
            "metadata": {},
            "period": {"start": start, "end": end},
            "proration": proration,
            "quantity": quantity,
            "tax_rates": [],
            "test_clock": None,
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": subscription["id"]},
            },
            "pricing": {
                "type": "price_details",
                "price_details": {"price": price["id"], "product": price["product"]},
                "unit_amount_decimal": str(price["unit_amount"]),
            },
        }
        return self.standin._store(item)

    def _prorated(self, price: dict[str, Any], item: dict[str, Any], start: int) -> int:
        """The price for [start, period end) of the item's period, to the penny."""
        period = item["current_period_end"] - item["current_period_start"]
        remaining = max(0, item["current_period_end"] - start)
        return (price["unit_amount"] * remaining + period // 2) // period

    def invoice(
        self, subscription: dict[str, Any], lines: list[dict[str, Any]], billing_reason: str
    ) -> dict[str, Any]:
        """An open (finalized) invoice of these lines and the customer's pending items, with
        the subscription's tax rates added (exclusive)."""
        pending = [
            item
            for item in self.standin.of_type("invoiceitem")
            if item["customer"] == subscription["customer"] and item["invoice"] is None
        ]
        invoice_id = _new_id("in")
        data = []
        for item in pending:
            item["invoice"] = invoice_id
            data.append(self._line_of(item, invoice_id, subscription))
        data += [{**line, "invoice": invoice_id} for line in lines]
        subtotal = sum(line["amount"] for line in data)
        percent = sum(
            self.standin.objects[rate]["percentage"]
            for rate in subscription.get("default_tax_rates") or []
        )
        tax = round(subtotal * percent / 100) if subtotal > 0 else 0
        total = subtotal + tax
        days = subscription.get("days_until_due") or 30
        invoice = self.standin.add_invoice(subscription["customer"], amount_due=max(0, total))
        self.standin.objects.pop(invoice["id"])
        invoice.update({
            "id": invoice_id, "subscription": subscription["id"], "billing_reason": billing_reason,
            "subtotal": subtotal, "total": total, "due_date": self.standin.now + days * 86400,
            "total_taxes": [{"amount": tax, "tax_behavior": "exclusive",
                             "taxability_reason": "standard_rated", "type": "tax_rate_details",
                             "tax_rate_details": {"tax_rate": rate}}
                            for rate in subscription.get("default_tax_rates") or []],
            "lines": {"object": "list", "data": data, "has_more": False,
                      "url": f"/v1/invoices/{invoice_id}/lines"},
            "hosted_invoice_url": f"https://invoice.stripe.com/i/{invoice_id}",
            "invoice_pdf": f"https://pay.stripe.com/invoice/{invoice_id}/pdf",
        })  # fmt: skip
        if total < 0:  # a credit the customer keeps for its next invoice
            customer = self.standin.objects[subscription["customer"]]
            customer["balance"] = customer.get("balance", 0) + total
        subscription["latest_invoice"] = invoice_id
        return self.standin._store(invoice)

    def _line_of(
        self, item: dict[str, Any], invoice_id: str, subscription: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "id": _new_id("il"),
            "object": "line_item",
            "amount": item["amount"],
            "currency": "gbp",
            "description": item["description"],
            "invoice": invoice_id,
            "livemode": False,
            "metadata": {},
            "period": item["period"],
            "quantity": item["quantity"],
            "subscription": subscription["id"],
            "pricing": item["pricing"],
            "parent": {
                "type": "invoice_item_details",
                "invoice_item_details": {
                    "invoice_item": item["id"],
                    "proration": item["proration"],
                    "subscription": subscription["id"],
                },
            },
        }

    def _usage_line(
        self, subscription: dict[str, Any], item: dict[str, Any], end: int
    ) -> dict[str, Any]:
        price = item["price"]
        start = item["_usage_from"]
        quantity = self.usage(subscription["customer"], price, start, end)
        return self._subscription_line(
            subscription, item, price["unit_amount"] * quantity, quantity, start, end
        )

    def _subscription_line(
        self,
        subscription: dict[str, Any],
        item: dict[str, Any],
        amount: int,
        quantity: int,
        start: int,
        end: int,
    ) -> dict[str, Any]:
        price = item["price"]
        return {
            "id": _new_id("il"),
            "object": "line_item",
            "amount": amount,
            "currency": "gbp",
            "description": f"{quantity} x {price['product']} ({price['id']})",
            "livemode": False,
            "metadata": {},
            "period": {"start": start, "end": end},
            "quantity": quantity,
            "subscription": subscription["id"],
            "pricing": {
                "type": "price_details",
                "price_details": {"price": price["id"], "product": price["product"]},
                "unit_amount_decimal": str(price["unit_amount"]),
            },
            "parent": {
                "type": "subscription_item_details",
                "subscription_item_details": {
                    "invoice_item": None,
                    "proration": False,
                    "subscription": subscription["id"],
                    "subscription_item": item["id"],
                },
            },
        }

    # --- the API ------------------------------------------------------------------------

    def modify(
        self, subscription: dict[str, Any], params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        from tests.standins.stripe_server import _error, _missing

        if subscription["status"] == "canceled":
            return _error(400, "invalid_request_error", None,
                          "A canceled subscription can only update its cancellation_details "
                          "and metadata.")  # fmt: skip
        now = self.standin.now
        behavior = params.get("proration_behavior", "create_prorations")
        if behavior not in ("create_prorations", "always_invoice", "none"):
            return _error(400, "invalid_request_error", "parameter_invalid",
                          "Invalid proration_behavior.")  # fmt: skip
        proration_date = int(params.get("proration_date") or now)
        if not subscription["_period_start"] <= proration_date <= now:
            return _error(400, "invalid_request_error", "parameter_invalid",
                          "proration_date must be within the current period and not in the "
                          "future.")  # fmt: skip
        items = subscription["items"]["data"]
        flexible = subscription["billing_mode"]["type"] == "flexible"
        for change in params.get("items") or []:
            if _truthy(change.get("deleted")):
                item = next((i for i in items if i["id"] == change.get("id")), None)
                if item is None:
                    return _missing(change.get("id", ""))
                items.remove(item)
                if behavior == "none":
                    continue
                price = item["price"]
                if price["recurring"]["usage_type"] == "metered":
                    if flexible:  # classic mode drops the usage so far: Stripe says so
                        quantity = self.usage(
                            subscription["customer"], price, item["_usage_from"], now
                        )
                        self._invoice_item(
                            subscription, price, amount=price["unit_amount"] * quantity,
                            quantity=quantity, start=item["_usage_from"], end=now,
                            description=f"Usage of {price['id']} to its removal",
                            proration=False,
                        )  # fmt: skip
                else:
                    self._invoice_item(
                        subscription, price, amount=-self._prorated(price, item, proration_date),
                        quantity=1, start=proration_date, end=item["current_period_end"],
                        description=f"Unused time on {price['id']}", proration=True,
                    )  # fmt: skip
            elif change.get("price"):
                price = self.standin.objects.get(change["price"])
                if price is None:
                    return _missing(change["price"])
                item = new_item(subscription, price, now)
                items.append(item)
                if behavior != "none" and price["recurring"]["usage_type"] != "metered":
                    self._invoice_item(
                        subscription, price, amount=self._prorated(price, item, proration_date),
                        quantity=1, start=proration_date, end=item["current_period_end"],
                        description=f"Remaining time on {price['id']}", proration=True,
                    )  # fmt: skip
        if behavior == "always_invoice":
            self.invoice(subscription, [], "subscription_update")
        return 200, public(subscription)

    def migrate(
        self, subscription: dict[str, Any], params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        mode = (params.get("billing_mode") or {}).get("type")
        if mode != "flexible":
            from tests.standins.stripe_server import _error

            return _error(400, "invalid_request_error", "parameter_invalid",
                          "billing_mode[type] must be flexible.")  # fmt: skip
        subscription["billing_mode"] = {"type": "flexible", "updated_at": self.standin.now}
        return 200, public(subscription)

    def cancel(
        self, subscription: dict[str, Any], params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        from tests.standins.stripe_server import _error

        if subscription["status"] == "canceled":
            return _error(400, "invalid_request_error", None,
                          "This subscription has already been canceled.")  # fmt: skip
        now = self.standin.now
        if _truthy(params.get("invoice_now")):
            lines = []
            for item in subscription["items"]["data"]:
                price = item["price"]
                if price["recurring"]["usage_type"] == "metered":
                    # The usage to the moment of cancelling, this second included.
                    lines.append(self._usage_line(subscription, item, now + 1))
                elif _truthy(params.get("prorate")):
                    self._invoice_item(
                        subscription, price, amount=-self._prorated(price, item, now),
                        quantity=1, start=now, end=item["current_period_end"],
                        description=f"Unused time on {price['id']}", proration=True,
                    )  # fmt: skip
            self.invoice(subscription, lines, "subscription_cycle")
        subscription.update(
            {"status": "canceled", "canceled_at": now, "ended_at": now,
             "cancellation_details": {"comment": None, "feedback": None,
                                      "reason": "cancellation_requested"}}
        )  # fmt: skip
        return 200, public(subscription)

    def renew(self, subscription: dict[str, Any]) -> dict[str, Any]:
        """What Stripe does when a period ends (a test clock passing it): invoice the period's
        usage and pending items, and the next period's fixed prices in advance."""
        end = subscription["_period_end"]
        following = add_month(end)
        lines = []
        for item in subscription["items"]["data"]:
            if item["price"]["recurring"]["usage_type"] == "metered":
                lines.append(self._usage_line(subscription, item, end))
                item["_usage_from"] = end
            else:
                lines.append(
                    self._subscription_line(
                        subscription, item, item["price"]["unit_amount"], 1, end, following
                    )
                )
            item["current_period_start"], item["current_period_end"] = end, following
        subscription["_period_start"], subscription["_period_end"] = end, following
        return self.invoice(subscription, lines, "subscription_cycle")
