# Long because the stand-in answers every Stripe endpoint billing uses, with Stripe's
# idempotency, error shapes and signed, disorderly webhook deliveries, as one server.
"""A local stand-in for Stripe's API, for the tests and the demo (real HTTP on a loopback port).

Objects are shaped as Stripe's own `fixtures3.json` shows. Behaviour Stripe documents and we
rely on: a POST with an `Idempotency-Key` already seen answers the first response again when the
parameters are the same, and `idempotency_error` (400) when they differ; errors come as
`{"error": {"type", "code", "message"}}` with 402 (card_error), 429 (rate_limit, with
`Stripe-Should-Retry: true`) and 500; webhooks are signed as `Stripe-Signature: t=<ts>,v1=<hex
HMAC-SHA256 of "<ts>.<body>">` and can be delivered late, twice or shuffled.

Run alone: `python -m tests.standins.stripe_server --port 8112`.
"""

import argparse
import hashlib
import hmac
import json
import random
import secrets
import threading
import time
import urllib.parse
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.standins.stripe_subscriptions import Subscriptions, add_month, new_item, public

ERRORS = {
    402: ("card_error", "card_declined", "Your card was declined."),
    429: ("invalid_request_error", "rate_limit", "Too many requests hit the API too quickly."),
    500: ("api_error", None, "An unknown error occurred"),
}


def sign_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe sends with `payload`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (`a[b][0][c]=x`) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(body, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        node: Any = root
        for part, following in zip(parts, [*parts[1:], None], strict=True):
            if following is None:
                if isinstance(node, list):
                    node.append(value)
                else:
                    node[part] = value
                break
            child_is_list = following.isdigit() or following == ""
            if isinstance(node, list):
                index = int(part) if part.isdigit() else len(node)
                while len(node) <= index:
                    node.append([] if child_is_list else {})
                node = node[index]
            else:
                node = node.setdefault(part, [] if child_is_list else {})
    return root


class StandinStripe:
    """The stand-in server. Use as a context manager, or `start()` and `stop()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.lock = threading.RLock()
        self.objects: dict[str, dict[str, Any]] = {}  # id → object
        self.meter_events: dict[str, dict[str, Any]] = {}  # identifier → meter event
        self.idempotency: dict[str, tuple[str, int, bytes]] = {}  # key → (params, status, body)
        self.requests: list[tuple[str, str]] = []
        self.faults: deque[int] = deque()
        # A test clock: it runs with real time, `advance` (or a test clock's advance) moves it.
        self._clock_offset = 0
        self.subscriptions = Subscriptions(self)
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def now(self) -> int:
        return int(time.time()) + self._clock_offset

    @now.setter
    def now(self, value: int) -> None:
        self._clock_offset = value - int(time.time())

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "StandinStripe":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "StandinStripe":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- control for tests ------------------------------------------------------------------

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these error statuses (402, 429 or 500), in order."""
        with self.lock:
            self.faults.extend(statuses)

    def advance(self, seconds: int) -> None:
        with self.lock:
            self._clock_offset += seconds

    def renew(self, subscription_id: str) -> dict[str, Any]:
        """End the subscription's period now, as a test clock passing it would: its invoice."""
        with self.lock:
            return self.subscriptions.renew(self.objects[subscription_id])

    def invoice_items(self, customer: str) -> list[dict[str, Any]]:
        return [item for item in self.of_type("invoiceitem") if item["customer"] == customer]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [o for o in self.objects.values() if o["object"] == kind]

    def add_invoice(
        self, customer: str, *, amount_due: int = 10_000, created: int | None = None
    ) -> dict[str, Any]:
        """A finalized (open) invoice for `customer`, as a subscription's cycle would make."""
        with self.lock:
            invoice_id = self._new_id("in")
            invoice = {
                "id": invoice_id,
                "object": "invoice",
                "customer": customer,
                "number": f"CF-{len(self.of_type('invoice')) + 1:04d}",
                "status": "open",
                "collection_method": "send_invoice",
                "currency": "gbp",
                "amount_due": amount_due,
                "amount_paid": 0,
                "amount_remaining": amount_due,
                "created": self.now if created is None else created,
                "due_date": (self.now if created is None else created) + 30 * 86400,
                "hosted_invoice_url": f"https://invoice.stripe.com/i/{invoice_id}",
                "invoice_pdf": f"https://pay.stripe.com/invoice/{invoice_id}/pdf",
                "custom_fields": None,
                "livemode": False,
                "metadata": {},
            }
            self.objects[invoice_id] = invoice
            return invoice

    def set_invoice_status(self, invoice_id: str, status: str) -> dict[str, Any]:
        with self.lock:
            invoice = self.objects[invoice_id]
            invoice["status"] = status
            if status == "paid":
                invoice["amount_paid"] = invoice["amount_due"]
                invoice["amount_remaining"] = 0
            return dict(invoice)

    def event(self, event_type: str, data_object: dict[str, Any], *, created: int | None = None):
        """A Stripe event (shaped as fixtures3.json's) carrying a snapshot of the object."""
        with self.lock:
            return {
                "id": self._new_id("evt"),
                "object": "event",
                "api_version": "2026-10-28.endive",
                "created": self.now if created is None else created,
                "data": {"object": json.loads(json.dumps(data_object))},
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": event_type,
            }

    def deliver(
        self,
        url: str,
        events: list[dict[str, Any]],
        secret: str,
        *,
        headers: dict[str, str] | None = None,
        twice: bool = False,
        shuffle: bool = False,
        late_seconds: int = 0,
    ) -> list[int]:
        """POST each event to `url` signed with `secret`, as Stripe would; the statuses."""
        statuses = []
        with httpx.Client(timeout=10) as client:
            for body, signature in self.deliveries(
                events, secret, twice=twice, shuffle=shuffle, late_seconds=late_seconds
            ):
                answer = client.post(
                    url,
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "Stripe-Signature": signature,
                        **(headers or {}),
                    },
                )
                statuses.append(answer.status_code)
        return statuses

    def deliveries(
        self,
        events: list[dict[str, Any]],
        secret: str,
        *,
        twice: bool = False,
        shuffle: bool = False,
        late_seconds: int = 0,
    ) -> list[tuple[bytes, str]]:
        """Each delivery's body and `Stripe-Signature`: twice, shuffled or late on demand."""
        batch = [event for event in events for _ in range(2 if twice else 1)]
        if shuffle:
            random.shuffle(batch)
        signed = []
        for event in batch:
            body = json.dumps(event).encode()
            signed.append((body, sign_payload(body, secret, int(time.time()) - late_seconds)))
        return signed

    # --- the API ----------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(8)}"

    def _store(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["id"]] = obj
        return obj

    def _create(self, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        now = self.now
        base = {"created": now, "livemode": False, "metadata": params.get("metadata", {})}
        if path == "/v1/products":
            product_id = params.get("id") or self._new_id("prod")
            if product_id in self.objects:
                return _error(400, "invalid_request_error", "resource_already_exists",
                              "Product already exists.")  # fmt: skip
            product = {"id": product_id, "object": "product", "name": params["name"]}
            return 200, self._store({**base, **product, "active": True, "type": "service"})
        if path == "/v1/prices":
            recurring = params.get("recurring") or {}
            return 200, self._store({
                **base, "id": self._new_id("price"), "object": "price", "active": True,
                "currency": params["currency"], "unit_amount": int(params["unit_amount"]),
                "product": params["product"], "lookup_key": params.get("lookup_key"),
                "tax_behavior": params.get("tax_behavior", "unspecified"), "type": "recurring",
                "recurring": {"interval": recurring.get("interval", "month"), "interval_count": 1,
                              "meter": recurring.get("meter"),
                              "usage_type": recurring.get("usage_type", "licensed")},
            })  # fmt: skip
        if path == "/v1/tax_rates":
            return 200, self._store({
                **base, "id": self._new_id("txr"), "object": "tax_rate", "active": True,
                "country": params.get("country"), "jurisdiction": params.get("jurisdiction"),
                "display_name": params["display_name"], "description": params.get("description"),
                "percentage": float(params["percentage"]),
                "inclusive": params["inclusive"] == "true", "tax_type": params.get("tax_type"),
            })  # fmt: skip
        if path == "/v1/billing/meters":
            return 200, self._store({
                **base, "id": self._new_id("mtr"), "object": "billing.meter", "status": "active",
                "display_name": params["display_name"], "event_name": params["event_name"],
                "default_aggregation": params["default_aggregation"],
                "customer_mapping": params["customer_mapping"],
                "value_settings": params["value_settings"], "updated": now,
            })  # fmt: skip
        if path == "/v1/customers":
            return 200, self._store({
                **base, "id": self._new_id("cus"), "object": "customer", "balance": 0,
                "currency": "gbp", "delinquent": False, "name": params.get("name"),
                "email": params.get("email"), "address": params.get("address"),
                "tax_exempt": params.get("tax_exempt", "none"),
                "invoice_settings": {"custom_fields": _custom_fields(params),
                                     "default_payment_method": None, "footer": None},
            })  # fmt: skip
        if path.startswith("/v1/customers/"):
            customer = self.objects.get(path.rsplit("/", 1)[1])
            if customer is None:
                return _missing(path)
            customer.update({k: v for k, v in params.items() if k in ("email", "name")})
            if "invoice_settings" in params:
                customer["invoice_settings"]["custom_fields"] = _custom_fields(params)
            return 200, customer
        if path.startswith("/v1/subscriptions/"):
            subscription = self.objects.get(path.split("/")[3])
            if subscription is None or subscription["object"] != "subscription":
                return _missing(path)
            if path.endswith("/migrate"):
                return self.subscriptions.migrate(subscription, params)
            return self.subscriptions.modify(subscription, params)
        if path == "/v1/subscriptions":
            if params["customer"] not in self.objects:
                return _missing(params["customer"])
            if "days_until_due" in params and params.get("collection_method") != "send_invoice":
                return _error(400, "invalid_request_error", "parameter_invalid",
                              "days_until_due is only valid with send_invoice.")  # fmt: skip
            subscription = self._store({
                **base, "id": self._new_id("sub"), "object": "subscription", "status": "active",
                "customer": params["customer"], "currency": "gbp", "start_date": now,
                "collection_method": params.get("collection_method", "charge_automatically"),
                "days_until_due": int(params.get("days_until_due") or 0) or None,
                "default_tax_rates": params.get("default_tax_rates", []),
                "billing_mode": {"type": (params.get("billing_mode") or {}).get("type", "classic"),
                                 "flexible": {}},
                "billing_cycle_anchor": now, "latest_invoice": None, "canceled_at": None,
                "ended_at": None, "cancellation_details": {"comment": None, "feedback": None,
                                                           "reason": None},
                "_period_start": now, "_period_end": add_month(now),
                "items": {"object": "list", "data": [], "has_more": False, "url": ""},
            })  # fmt: skip
            for item in params.get("items", []):
                price = self.objects.get(item["price"])
                if price is None:
                    return _missing(item["price"])
                subscription["items"]["data"].append(new_item(subscription, price, now))
            return 200, public(subscription)
        if path == "/v1/test_helpers/test_clocks":
            frozen = int(params["frozen_time"])
            return 200, self._store({
                "id": self._new_id("clock"), "object": "test_helpers.test_clock",
                "created": now, "livemode": False, "name": params.get("name"),
                "frozen_time": frozen, "status": "ready", "deletes_after": frozen + 30 * 86400,
            })  # fmt: skip
        if path.startswith("/v1/test_helpers/test_clocks/") and path.endswith("/advance"):
            clock = self.objects.get(path.split("/")[4])
            if clock is None:
                return _missing(path)
            frozen = int(params["frozen_time"])
            if frozen < clock["frozen_time"]:
                return _error(400, "invalid_request_error", "parameter_invalid",
                              "The test clock cannot be moved backwards.")  # fmt: skip
            # The stand-in's own clock moves with it: meter event windows follow.
            self.now += frozen - clock["frozen_time"]
            clock["frozen_time"] = frozen
            return 200, clock
        if path == "/v1/invoiceitems":
            return self._invoice_item(params, base)
        if path == "/v1/credit_notes":
            return self._credit_note(params, base)
        if path == "/v1/billing/meter_events":
            identifier = params.get("identifier") or self._new_id("mev")
            timestamp = int(params["timestamp"])
            if not now - 35 * 86400 <= timestamp <= now + 300:
                return _error(400, "invalid_request_error", "timestamp_too_far_in_past",
                              "Timestamp must be within the past 35 days.")  # fmt: skip
            if identifier in self.meter_events:
                return _error(400, "invalid_request_error", "duplicate_meter_event",
                              "An event with this identifier already exists.")  # fmt: skip
            event = {"object": "billing.meter_event", "created": now, "livemode": False,
                     "event_name": params["event_name"], "identifier": identifier,
                     "payload": params["payload"], "timestamp": timestamp}  # fmt: skip
            self.meter_events[identifier] = event
            return 200, event
        return _missing(path)

    def _tax(self, net: int, tax_rates: list[str]) -> int:
        """Stripe's exclusive tax on a line: each rate's percentage, rounded half up."""
        tax = 0
        for rate_id in tax_rates:
            rate = self.objects.get(rate_id)
            if rate and not rate["inclusive"]:
                tax += int((net * rate["percentage"] * 2 + 100) // 200)
        return tax

    def _invoice_item(self, params: dict[str, Any], base: dict[str, Any]) -> tuple[int, dict]:
        customer = params.get("customer")
        if customer not in self.objects:
            return _missing(str(customer))
        if params.get("currency") != "gbp" or "amount" not in params:
            return _error(400, "invalid_request_error", "parameter_missing",
                          "Missing required param: amount (with currency gbp).")  # fmt: skip
        for rate in params.get("tax_rates", []):
            if rate not in self.objects:
                return _missing(rate)
        amount = int(params["amount"])
        return 200, self._store({
            **base, "id": self._new_id("ii"), "object": "invoiceitem", "amount": amount,
            "currency": "gbp", "customer": customer, "date": base["created"],
            "description": params.get("description"), "discountable": amount > 0,
            "discounts": [], "invoice": None, "period": {"start": base["created"],
            "end": base["created"]}, "proration": False, "quantity": 1,
            "tax_rates": [self.objects[rate] for rate in params.get("tax_rates", [])],
            "test_clock": None, "parent": None,
            "pricing": {"type": "price_details", "unit_amount_decimal": str(amount)},
            "net_amount": amount,
        })  # fmt: skip

    def _credit_note(self, params: dict[str, Any], base: dict[str, Any]) -> tuple[int, dict]:
        """A credit note on a paid invoice: Stripe requires the refund, credit and out-of-band
        amounts to add up to its total, and never more than the invoice still has to credit."""
        invoice = self.objects.get(params.get("invoice", ""))
        if invoice is None or invoice["object"] != "invoice":
            return _missing(str(params.get("invoice")))
        lines, subtotal, tax = [], 0, 0
        for line in params.get("lines", []):
            net = int(line.get("unit_amount", 0)) * int(line.get("quantity", 1))
            line_tax = self._tax(net, line.get("tax_rates", []))
            subtotal, tax = subtotal + net, tax + line_tax
            lines.append({
                "id": self._new_id("cnli"), "object": "credit_note_line_item", "amount": net,
                "description": line.get("description"), "discount_amount": 0,
                "discount_amounts": [], "livemode": False,
                "quantity": int(line.get("quantity", 1)),
                "tax_rates": [self.objects[r] for r in line.get("tax_rates", [])
                              if r in self.objects],
                "type": line.get("type"), "unit_amount": int(line.get("unit_amount", 0)),
                "unit_amount_decimal": str(line.get("unit_amount", 0)), "metadata": None,
            })  # fmt: skip
        total = subtotal + tax
        earlier = [n for n in self.of_type("credit_note") if n["invoice"] == invoice["id"]]
        credited, notes = sum(note["total"] for note in earlier), len(earlier)
        if total <= 0 or total > invoice["amount_paid"] - credited:
            return _error(400, "invalid_request_error", "credit_note_amount_invalid",
                          "The credit note's total must be positive and at most the amount "
                          "remaining to credit on the invoice.")  # fmt: skip
        parts = sum(int(params.get(name, 0)) for name in
                    ("credit_amount", "refund_amount", "out_of_band_amount"))  # fmt: skip
        if invoice["status"] == "paid" and parts != total:
            return _error(400, "invalid_request_error", "parameter_invalid",
                          "The sum of credit_amount, refund_amount and out_of_band_amount "
                          "must equal the credit note's total.")  # fmt: skip
        customer = self.objects[invoice["customer"]]
        customer["balance"] -= int(params.get("credit_amount", 0))
        note_id = self._new_id("cn")
        return 200, self._store({
            **base, "id": note_id, "object": "credit_note", "amount": total,
            "amount_shipping": 0, "currency": "gbp", "customer": invoice["customer"],
            "customer_balance_transaction": None, "discount_amount": 0, "discount_amounts": [],
            "effective_at": base["created"], "invoice": invoice["id"],
            "lines": {"object": "list", "data": lines, "has_more": False,
                      "url": f"/v1/credit_notes/{note_id}/lines"},
            "memo": params.get("memo"),
            "number": f"{invoice.get('number') or invoice['id']}-CN-{notes + 1:02d}",
            "out_of_band_amount": int(params["out_of_band_amount"])
            if "out_of_band_amount" in params else None,
            "pdf": f"https://pay.stripe.com/credit_notes/{note_id}/pdf",
            "reason": params.get("reason"), "refunds": [], "status": "issued",
            "subtotal": subtotal, "subtotal_excluding_tax": subtotal, "total": total,
            "total_excluding_tax": subtotal, "type": "post_payment", "voided_at": None,
        })  # fmt: skip

    def _get(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        listing = {
            "/v1/prices": "price",
            "/v1/tax_rates": "tax_rate",
            "/v1/billing/meters": "billing.meter",
            "/v1/invoices": "invoice",
            "/v1/invoiceitems": "invoiceitem",
            "/v1/credit_notes": "credit_note",
        }
        if path in listing:
            found = self.of_type(listing[path])
            if "lookup_keys[]" in query or "lookup_keys[0]" in query:
                keys = set(query.get("lookup_keys[]", []) + query.get("lookup_keys[0]", []))
                found = [o for o in found if o.get("lookup_key") in keys]
            if "customer" in query:
                found = [o for o in found if o.get("customer") == query["customer"][0]]
            return 200, {"object": "list", "url": path, "has_more": False, "data": found}
        if path.startswith("/v1/billing/meters/") and path.endswith("/event_summaries"):
            return 200, self._summaries(path.split("/")[4], query)
        obj = self.objects.get(path.rsplit("/", 1)[1])
        if obj and obj["object"] == "subscription":
            return 200, public(obj)
        return (200, obj) if obj else _missing(path)

    def _delete(self, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if path.startswith("/v1/subscriptions/"):
            subscription = self.objects.get(path.split("/")[3])
            if subscription and subscription["object"] == "subscription":
                return self.subscriptions.cancel(subscription, params)
        return _missing(path)

    def _summaries(self, meter_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
        meter = self.objects[meter_id]
        customer = query["customer"][0]
        start, end = int(query["start_time"][0]), int(query["end_time"][0])
        by_day: dict[int, int] = {}
        for event in self.meter_events.values():
            if (
                event["event_name"] == meter["event_name"]
                and event["payload"].get("stripe_customer_id") == customer
                and start <= event["timestamp"] < end
            ):
                day = event["timestamp"] - event["timestamp"] % 86400
                by_day[day] = by_day.get(day, 0) + int(event["payload"]["value"])
        data = [
            {"id": f"mtrusg_{meter_id}_{day}", "object": "billing.meter_event_summary",
             "aggregated_value": value, "start_time": day, "end_time": day + 86400,
             "livemode": False, "meter": meter_id}
            for day, value in sorted(by_day.items())
        ]  # fmt: skip
        return {"object": "list", "url": "", "has_more": False, "data": data}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _fault(self) -> bool:
                with standin.lock:
                    if not standin.faults:
                        return False
                    status = standin.faults.popleft()
                kind, code, message = ERRORS[status]
                headers = {"Stripe-Should-Retry": "true"} if status in (429, 500) else {}
                error = {"type": kind, "message": message}
                if code:
                    error["code"] = code
                self._answer(status, json.dumps({"error": error}).encode(), headers)
                return True

            def _control_invoice(self, request: dict[str, Any]) -> None:
                """For the demo: an invoice raised `days_ago`, paid or left open (overdue once
                its 30 days have passed), and the events Stripe would have sent about it."""
                created = standin.now - int(request.get("days_ago", 0)) * 86400
                invoice = standin.add_invoice(
                    request["customer"], amount_due=int(request["amount_due"]), created=created
                )
                events = [standin.event("invoice.finalized", invoice, created=created)]
                if request.get("paid"):
                    paid = standin.set_invoice_status(invoice["id"], "paid")
                    events.append(standin.event("invoice.paid", paid, created=created + 86400))
                elif invoice["due_date"] < standin.now:
                    events.append(
                        standin.event("invoice.overdue", invoice, created=invoice["due_date"])
                    )
                # Signed with the secret the caller names, as Stripe would deliver them.
                secret = request.get("webhook_secret") or ""
                deliveries = [
                    {"payload": payload.decode(), "signature": signature}
                    for payload, signature in standin.deliveries(events, secret)
                ] if secret else []  # fmt: skip
                body = json.dumps(
                    {"invoice": invoice, "events": events, "deliveries": deliveries}
                ).encode()
                self._answer(200, body, {})

            def _authorised(self) -> bool:
                if self.headers.get("Authorization", "").startswith("Bearer sk_"):
                    return True
                status, body = _error(401, "invalid_request_error", None,
                                      "You did not provide an API key.")  # fmt: skip
                self._answer(status, json.dumps(body).encode(), {})
                return False

            def do_GET(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                with standin.lock:
                    standin.requests.append(("GET", parsed.path))
                if not self._authorised() or self._fault():
                    return
                with standin.lock:
                    status, body = standin._get(parsed.path, urllib.parse.parse_qs(parsed.query))
                self._answer(status, json.dumps(body).encode(), {})

            def do_DELETE(self) -> None:
                # The library sends a DELETE's parameters in the query string.
                parsed = urllib.parse.urlsplit(self.path)
                with standin.lock:
                    standin.requests.append(("DELETE", parsed.path))
                if not self._authorised() or self._fault():
                    return
                with standin.lock:
                    status, body = standin._delete(parsed.path, _decode_form(parsed.query))
                self._answer(status, json.dumps(body).encode(), {})

            def do_POST(self) -> None:
                path = urllib.parse.urlsplit(self.path).path
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if path == "/_standin/invoices":
                    self._control_invoice(json.loads(raw or "{}"))
                    return
                with standin.lock:
                    standin.requests.append(("POST", path))
                if not self._authorised() or self._fault():
                    return
                key = self.headers.get("Idempotency-Key")
                with standin.lock:
                    fingerprint = f"{path}?{raw}"
                    if key and key in standin.idempotency:
                        seen, status, body = standin.idempotency[key]
                        if seen != fingerprint:
                            status, answer = _error(
                                400, "idempotency_error", None,
                                "Keys for idempotent requests can only be used with the same "
                                "parameters they were first used with.",
                            )  # fmt: skip
                            body = json.dumps(answer).encode()
                        self._answer(status, body, {"Idempotent-Replayed": "true"})
                        return
                    status, answer = standin._create(path, _decode_form(raw))
                    body = json.dumps(answer).encode()
                    if key and status < 500:
                        standin.idempotency[key] = (fingerprint, status, body)
                self._answer(status, body, {})

        return Handler


def _custom_fields(params: dict[str, Any]) -> list[dict[str, str]] | None:
    fields = (params.get("invoice_settings") or {}).get("custom_fields")
    return fields if isinstance(fields, list) and fields else None


def _error(status: int, kind: str, code: str | None, message: str) -> tuple[int, dict[str, Any]]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["code"] = code
    return status, {"error": error}


def _missing(what: str) -> tuple[int, dict[str, Any]]:
    return _error(404, "invalid_request_error", "resource_missing", f"No such object: '{what}'")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8112)
    arguments = parser.parse_args()
    with StandinStripe(port=arguments.port) as standin:
        print(f"Stripe stand-in on {standin.url}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
