# Long because the stand-in answers the whole public API GOV.UK Pay's OpenAPI spec describes,
# with its webhooks and Stripe-backed payouts, as one server.
"""A local stand-in for GOV.UK Pay, for the demo and the tests (real HTTP on a loopback port).

It answers the public API as GOV.UK Pay's OpenAPI description says (create, get and search
payments, events, refunds with the compare-and-set amount, refund search), serves a card page
at each payment's `next_url` where a test card succeeds or a decline card fails, sends the payer
back to `return_url`, and sends signed webhooks at least once, retried until answered 2xx.

Each API key is one GOV.UK Pay *service*; a service's webhook URL and signing secret are set
with `add_service` (or `POST /_standin/services` from another process, as the demo does).
Faults for tests: `fail_next` (5xx, 429 or a stall past the client's timeout), webhooks off,
duplicated or shuffled deliveries.

Settlement, as the spec describes it: a service is backed by the "sandbox" provider unless
added with `payment_provider="stripe"`. A Stripe-backed service's captured payments carry the
PSP `fee` (its `fee_basis_points` of the amount plus `fee_fixed_pence`) and `net_amount`, and
nothing is settled until a payout (`payout`, or `POST /_standin/payouts` with a
`settled_date` and the service's `api_key`, or without a key for every Stripe-backed
service): Stripe pays the service's balance into its bank account, so every captured payment
and every refund taken since the last payout get that `settlement_summary.settled_date`, and
the search filters `from_settled_date` and `to_settled_date` find them. Other providers
report no fee and no settled date (`settle` still sets one on a single payment, for tests).
`travel_to` (or `POST /_standin/clock`) moves the stand-in's clock, so the demo can take
payments on the days its sample bank statement covers.

Run alone: `python -m tests.standins.govuk_pay_server --port 8111`.
"""

import argparse
import html
import json
import random
import secrets
import threading
import time
import urllib.parse
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from income.govuk_pay.signature import SIGNATURE_HEADER, sign

# GOV.UK Pay's documented test cards: these succeed, this one is declined.
SUCCESS_CARDS = frozenset({"4444333322221111", "4242424242424242", "5101180000000007"})
DECLINE_CARD = "4000000000000002"
MAX_AMOUNT = 10_000_000
FINISHED = frozenset({"success", "failed", "cancelled", "error"})
FAILURES = {
    "P0010": "Payment method rejected",
    "P0020": "Payment expired",
    "P0030": "Payment was cancelled by the user",
    "P0040": "Payment was cancelled by the service",
    "P0050": "Payment provider returned an error",
}


def _now() -> datetime:
    return datetime.now(UTC)


def _stripe_fee(amount: int, basis_points: int, fixed_pence: int) -> int:
    """The PSP's fee in whole pence (half a penny rounds up), never more than the payment."""
    return min(amount, (amount * basis_points + 5_000) // 10_000 + fixed_pence)


def _settled_date(value: object) -> str:
    """A settled date as GOV.UK Pay writes it (YYYY-MM-DD), or ValueError."""
    text = str(value or "")
    if len(text) != 10:
        raise ValueError(f"settled_date must be YYYY-MM-DD, not {text!r}")
    return date.fromisoformat(text).isoformat()


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _new_id() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(26))


@dataclass
class Service:
    api_key: str
    webhook_url: str = ""
    webhook_secret: str = ""
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotency: dict[str, str] = field(default_factory=dict)
    # "stripe" services report fees and settled dates; "sandbox" ones (and Worldpay) do not.
    payment_provider: str = "sandbox"
    fee_basis_points: int = 20
    fee_fixed_pence: int = 2

    @property
    def stripe(self) -> bool:
        return self.payment_provider == "stripe"


@dataclass
class Delivery:
    service: Service
    body: bytes
    attempts: int = 0
    due_at: float = 0.0


@dataclass
class DeliveryRecord:
    message_id: str
    event_type: str
    payment_id: str
    status: int | str


class StandinGovukPay:
    """The stand-in server. Use as a context manager, or `start()` and `stop()`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        webhook_retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
        public_url: str | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.services: dict[str, Service] = {}
        self.charges: dict[str, tuple[Service, str]] = {}  # card page token → payment
        self.webhooks_enabled = True
        self.duplicate_webhooks = False
        self.shuffle_webhooks = False
        self.webhook_retry_delays = webhook_retry_delays
        self.deliveries: list[DeliveryRecord] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of API calls, for tests
        self._faults: deque[int | str] = deque()
        self.stall_seconds = 3.0
        # Refunds succeed at once unless held "submitted" until `finish_refunds`.
        self.hold_refunds = False
        self._clock_offset = timedelta(0)
        self._queue: list[Delivery] = []
        self._wake = threading.Condition(self.lock)
        self._stopping = False
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True
        self._public_url = public_url
        self._threads = [
            threading.Thread(target=self.server.serve_forever, daemon=True),
            threading.Thread(target=self._deliver_forever, daemon=True),
        ]

    # --- lifecycle and control --------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._public_url:
            return self._public_url
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "StandinGovukPay":
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        with self.lock:
            self._stopping = True
            self._wake.notify_all()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "StandinGovukPay":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def add_service(
        self,
        api_key: str,
        *,
        webhook_url: str = "",
        webhook_secret: str = "",
        payment_provider: str = "sandbox",
        fee_basis_points: int | None = None,
        fee_fixed_pence: int | None = None,
    ) -> Service:
        with self.lock:
            service = self.services.get(api_key) or Service(api_key)
            service.webhook_url = webhook_url
            service.webhook_secret = webhook_secret
            service.payment_provider = payment_provider
            if fee_basis_points is not None:
                service.fee_basis_points = fee_basis_points
            if fee_fixed_pence is not None:
                service.fee_fixed_pence = fee_fixed_pence
            self.services[api_key] = service
            return service

    def now(self) -> datetime:
        """The stand-in's clock: the real time, moved by `travel_to`."""
        return _now() + self._clock_offset

    def travel_to(self, moment: datetime | None) -> None:
        """From now on the stand-in's clock reads `moment` (and runs on from there); None
        puts it back to the real time."""
        if moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        with self.lock:
            self._clock_offset = moment - _now() if moment else timedelta(0)

    def fail_next(self, count: int = 1, status: int | str = 500) -> None:
        """The next `count` API requests fail: an HTTP status (500, 503, 429…) or "timeout"
        (the answer comes only after `stall_seconds`, past the client's timeout)."""
        with self.lock:
            self._faults.extend([status] * count)

    def payment(self, payment_id: str) -> dict[str, Any]:
        with self.lock:
            for service in self.services.values():
                if payment_id in service.payments:
                    return service.payments[payment_id]
        raise KeyError(payment_id)

    def complete(self, payment_id: str, card_number: str = "4444333322221111") -> None:
        """What the card page does when the payer submits `card_number`."""
        with self.lock:
            service, payment = self._find(payment_id)
            self._take_card(service, payment, card_number, "Sam Payer")

    def expire(self, payment_id: str) -> None:
        with self.lock:
            service, payment = self._find(payment_id)
            self._finish(service, payment, "failed", "P0020", "card_payment_expired")

    def settle(self, payment_id: str, settled_date: str) -> None:
        """One payment gets a settled date, whatever its provider (for tests)."""
        with self.lock:
            _service, payment = self._find(payment_id)
            payment["settlement_summary"]["settled_date"] = _settled_date(settled_date)

    def settle_refund(self, refund_id: str, settled_date: str) -> None:
        """One refund is taken from a payout on `settled_date` (for tests)."""
        with self.lock:
            for service in self.services.values():
                for payment in service.payments.values():
                    for refund in payment["_refunds"]:
                        if refund["refund_id"] == refund_id:
                            refund["settlement_summary"]["settled_date"] = _settled_date(
                                settled_date
                            )
                            return
        raise KeyError(refund_id)

    def payout(self, api_key: str, settled_date: str) -> dict[str, Any]:
        """Stripe pays a service's balance into its bank account on `settled_date`: every
        captured payment and every succeeded refund not paid out before is settled that day.
        Returns what the bank account receives (payments' net amounts less refunds)."""
        settled_date = _settled_date(settled_date)
        with self.lock:
            service = self.services[api_key]
            if not service.stripe:
                raise ValueError("Only Stripe-backed services are paid out with a settled date.")
            paid = {"settled_date": settled_date, "payments": 0, "refunds": 0, "fees": 0}
            amount = 0
            for payment in service.payments.values():
                summary = payment["settlement_summary"]
                if payment["state"]["status"] == "success" and "settled_date" not in summary:
                    summary["settled_date"] = settled_date
                    paid["payments"] += 1
                    paid["fees"] += payment.get("fee", 0)
                    amount += payment.get("net_amount", payment["amount"])
                for refund in payment["_refunds"]:
                    if (
                        refund["status"] == "success"
                        and "settled_date" not in refund["settlement_summary"]
                    ):
                        refund["settlement_summary"]["settled_date"] = settled_date
                        paid["refunds"] += 1
                        amount -= refund["amount"]
            return {**paid, "amount": amount}

    def finish_refunds(self, status: str = "success") -> None:
        """Every refund still submitted ends in `status` ("success" or "error")."""
        with self.lock:
            for service in self.services.values():
                for payment in service.payments.values():
                    for refund in payment["_refunds"]:
                        if refund["status"] != "submitted":
                            continue
                        refund["status"] = status
                        if status == "error":
                            summary = payment["refund_summary"]
                            summary["amount_available"] += refund["amount"]
                            summary["amount_submitted"] -= refund["amount"]
                            summary["status"] = "available"
                        self._send_webhook(service, payment, "card_payment_refunded")

    def webhook_body(self, api_key: str, payment_id: str, event_type: str) -> bytes:
        """A webhook message as GOV.UK Pay would send it now (for tests that deliver it)."""
        with self.lock:
            service = self.services[api_key]
            return self._message(service.payments[payment_id], event_type)

    def _find(self, payment_id: str) -> tuple[Service, dict[str, Any]]:
        for service in self.services.values():
            if payment_id in service.payments:
                return service, service.payments[payment_id]
        raise KeyError(payment_id)

    # --- payments ---------------------------------------------------------------------------

    def _create(self, service: Service, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        problem = _create_problem(body)
        if problem:
            return 422, {"code": "P0102", "field": problem[0], "description": problem[1]}
        payment_id = _new_id()
        token = secrets.token_urlsafe(16)
        created = self.now()
        payment = {
            "payment_id": payment_id,
            "amount": body["amount"],
            "reference": body["reference"],
            "description": body["description"],
            "return_url": body["return_url"],
            "language": body.get("language", "en"),
            "moto": bool(body.get("moto", False)),
            "delayed_capture": bool(body.get("delayed_capture", False)),
            "authorisation_mode": "web",
            "payment_provider": service.payment_provider,
            "created_date": _timestamp(created),
            "state": {"status": "created", "finished": False},
            "refund_summary": {"status": "pending", "amount_available": 0, "amount_submitted": 0},
            "settlement_summary": {},
            "_charge_token": token,
            "_events": [],
            "_refunds": [],
        }
        if body.get("metadata"):
            payment["metadata"] = body["metadata"]
        if body.get("email"):
            payment["email"] = body["email"]
        service.payments[payment_id] = payment
        self.charges[token] = (service, payment_id)
        self._event(payment)
        return 201, self._resource(payment)

    def _resource(self, payment: dict[str, Any], *, for_search: bool = False) -> dict[str, Any]:
        resource = {key: value for key, value in payment.items() if not key.startswith("_")}
        resource["state"] = dict(payment["state"])
        resource["refund_summary"] = dict(payment["refund_summary"])
        resource["settlement_summary"] = dict(payment["settlement_summary"])
        base = f"{self.url}/v1/payments/{payment['payment_id']}"
        links: dict[str, Any] = {
            "self": {"href": base, "method": "GET"},
            "events": {"href": f"{base}/events", "method": "GET"},
            "refunds": {"href": f"{base}/refunds", "method": "GET"},
        }
        if not payment["state"]["finished"]:
            links["cancel"] = {"href": f"{base}/cancel", "method": "POST"}
            if not for_search:
                next_url = f"{self.url}/card/{payment['_charge_token']}"
                links["next_url"] = {"href": next_url, "method": "GET"}
                links["next_url_post"] = {
                    "href": next_url,
                    "method": "POST",
                    "type": "application/x-www-form-urlencoded",
                    "params": {},
                }
        resource["_links"] = links
        return resource

    def _event(self, payment: dict[str, Any]) -> None:
        payment["_events"].append(
            {
                "payment_id": payment["payment_id"],
                "state": dict(payment["state"]),
                "updated": _timestamp(self.now()),
                "_links": {
                    "payment_url": {
                        "href": f"{self.url}/v1/payments/{payment['payment_id']}",
                        "method": "GET",
                    }
                },
            }
        )

    def _set_state(self, payment: dict[str, Any], status: str, code: str = "") -> None:
        state: dict[str, Any] = {"status": status, "finished": status in FINISHED}
        if code:
            state["code"] = code
            state["message"] = FAILURES[code]
        payment["state"] = state
        self._event(payment)

    def _start(self, service: Service, payment: dict[str, Any]) -> None:
        if payment["state"]["status"] == "created":
            self._set_state(payment, "started")
            self._send_webhook(service, payment, "card_payment_started")

    def _take_card(
        self, service: Service, payment: dict[str, Any], number: str, name: str
    ) -> str | None:
        """Authorise and capture; an error message for the card page, or None when done."""
        if payment["state"]["finished"]:
            return None
        self._start(service, payment)
        if number == DECLINE_CARD:
            payment["card_details"] = _card_details(number, name)
            self._finish(service, payment, "failed", "P0010", "card_payment_failed")
            return None
        if number not in SUCCESS_CARDS:
            return "Enter a test card number: 4444 3333 2222 1111 pays, 4000 0000 0000 0002 fails."
        payment["card_details"] = _card_details(number, name)
        self._set_state(payment, "submitted")
        captured = self.now()
        payment["settlement_summary"] = {
            "capture_submit_time": _timestamp(captured),
            "captured_date": captured.date().isoformat(),
        }
        payment["refund_summary"] = {
            "status": "available",
            "amount_available": payment["amount"],
            "amount_submitted": 0,
        }
        if service.stripe:
            # Stripe takes its fee from each captured payment; the rest reaches the bank.
            fee = _stripe_fee(payment["amount"], service.fee_basis_points, service.fee_fixed_pence)
            payment["fee"] = fee
            payment["net_amount"] = payment["amount"] - fee
        self._set_state(payment, "success")
        self._send_webhook(service, payment, "card_payment_succeeded")
        self._send_webhook(service, payment, "card_payment_captured")
        return None

    def _finish(
        self, service: Service, payment: dict[str, Any], status: str, code: str, event: str
    ) -> None:
        if payment["state"]["finished"]:
            return
        self._set_state(payment, status, code)
        payment["refund_summary"] = {
            "status": "unavailable",
            "amount_available": 0,
            "amount_submitted": 0,
        }
        if event:
            self._send_webhook(service, payment, event)

    # --- refunds ----------------------------------------------------------------------------

    def _refund(
        self, service: Service, payment: dict[str, Any], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        amount = body.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= MAX_AMOUNT:
            return 422, {"code": "P0602", "field": "amount", "description": "Invalid amount"}
        summary = payment["refund_summary"]
        if payment["state"]["status"] != "success":
            return 400, {"code": "P0603", "description": "The payment is not available for refund"}
        expected = body.get("refund_amount_available")
        if expected is not None and expected != summary["amount_available"]:
            return 412, None
        if amount > summary["amount_available"]:
            return 400, {"code": "P0604", "description": "Refund amount available mismatch"}
        refund = {
            "refund_id": _new_id(),
            "payment_id": payment["payment_id"],
            "amount": amount,
            "created_date": _timestamp(self.now()),
            "status": "submitted" if self.hold_refunds else "success",
            "settlement_summary": {},
        }
        payment["_refunds"].append(refund)
        summary["amount_available"] -= amount
        summary["amount_submitted"] += amount
        summary["status"] = "available" if summary["amount_available"] else "full"
        self._send_webhook(service, payment, "card_payment_refunded")
        return 200, self._refund_resource(refund)

    def _refund_resource(self, refund: dict[str, Any]) -> dict[str, Any]:
        base = f"{self.url}/v1/payments/{refund['payment_id']}"
        return {
            **refund,
            "settlement_summary": dict(refund["settlement_summary"]),
            "_links": {
                "self": {"href": f"{base}/refunds/{refund['refund_id']}", "method": "GET"},
                "payment": {"href": base, "method": "GET"},
            },
        }

    # --- search -----------------------------------------------------------------------------

    def _search(
        self, items: list[dict[str, Any]], query: dict[str, str], path: str
    ) -> tuple[int, dict[str, Any]]:
        try:
            page = int(query.get("page", "1"))
            size = int(query.get("display_size", "500"))
        except ValueError:
            return 422, {"code": "P0401", "description": "Invalid parameters: page"}
        if page < 1 or not 1 <= size <= 500:
            return 422, {"code": "P0401", "description": "Invalid parameters: display_size"}
        for bound, keep in (("from_date", lambda a, b: a >= b), ("to_date", lambda a, b: a < b)):
            if query.get(bound):
                try:
                    limit = datetime.fromisoformat(query[bound].replace("Z", "+00:00"))
                except ValueError:
                    return 422, {"code": "P0401", "description": f"Invalid parameters: {bound}"}
                items = [
                    item
                    for item in items
                    if keep(
                        datetime.fromisoformat(item["created_date"].replace("Z", "+00:00")), limit
                    )
                ]
        # Only what has a settled date (Stripe-backed services) can match these.
        for bound, keep in (
            ("from_settled_date", lambda a, b: a >= b),
            ("to_settled_date", lambda a, b: a < b),
        ):
            if query.get(bound):
                try:
                    limit = _settled_date(query[bound])
                except ValueError:
                    return 422, {"code": "P0401", "description": f"Invalid parameters: {bound}"}
                items = [
                    item
                    for item in items
                    if (item.get("settlement_summary") or {}).get("settled_date")
                    and keep(item["settlement_summary"]["settled_date"], limit)
                ]
        total = len(items)
        last = max(1, -(-total // size))
        chosen = items[(page - 1) * size : page * size]

        def link(number: int) -> dict[str, str]:
            params = {**query, "page": str(number), "display_size": str(size)}
            return {"href": f"{self.url}{path}?{urllib.parse.urlencode(params)}", "method": "GET"}

        links = {"self": link(page), "first_page": link(1), "last_page": link(last)}
        if page < last:
            links["next_page"] = link(page + 1)
        if page > 1:
            links["prev_page"] = link(page - 1)
        return 200, {
            "total": total,
            "count": len(chosen),
            "page": page,
            "results": chosen,
            "_links": links,
        }

    # --- webhooks ---------------------------------------------------------------------------

    def _message(self, payment: dict[str, Any], event_type: str) -> bytes:
        return json.dumps(
            {
                "webhook_message_id": str(uuid.uuid4()),
                "created_date": _timestamp(self.now()),
                "resource_id": payment["payment_id"],
                "api_version": 1,
                "resource_type": "payment",
                "event_type": event_type,
                "resource": self._resource(payment, for_search=True),
            }
        ).encode()

    def _send_webhook(self, service: Service, payment: dict[str, Any], event_type: str) -> None:
        if not (self.webhooks_enabled and service.webhook_url and service.webhook_secret):
            return
        body = self._message(payment, event_type)
        copies = 2 if self.duplicate_webhooks else 1
        for _ in range(copies):
            self._queue.append(Delivery(service, body, due_at=time.monotonic()))
        if self.shuffle_webhooks:
            random.shuffle(self._queue)
        self._wake.notify_all()

    def _deliver_forever(self) -> None:
        with httpx.Client(timeout=5.0) as http:
            while True:
                with self.lock:
                    while not self._stopping and not any(
                        d.due_at <= time.monotonic() for d in self._queue
                    ):
                        soonest = min((d.due_at for d in self._queue), default=None)
                        wait = None if soonest is None else max(0.01, soonest - time.monotonic())
                        self._wake.wait(timeout=wait)
                    if self._stopping:
                        return
                    delivery = next(d for d in self._queue if d.due_at <= time.monotonic())
                    self._queue.remove(delivery)
                status = self._post(http, delivery)
                message = json.loads(delivery.body)
                with self.lock:
                    self.deliveries.append(
                        DeliveryRecord(
                            message["webhook_message_id"],
                            message["event_type"],
                            message["resource_id"],
                            status,
                        )
                    )
                    ok = isinstance(status, int) and 200 <= status < 300
                    if not ok and delivery.attempts < len(self.webhook_retry_delays):
                        delivery.due_at = (
                            time.monotonic() + self.webhook_retry_delays[delivery.attempts]
                        )
                        delivery.attempts += 1
                        self._queue.append(delivery)
                        self._wake.notify_all()

    def _post(self, http: httpx.Client, delivery: Delivery) -> int | str:
        service = delivery.service
        url, headers = _loopback(service.webhook_url)
        headers.update(
            {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(delivery.body, service.webhook_secret),
            }
        )
        try:
            return http.post(url, content=delivery.body, headers=headers).status_code
        except httpx.HTTPError as error:
            return type(error).__name__

    # --- HTTP -------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                standin._handle(self, "GET")

            def do_POST(self) -> None:
                standin._handle(self, "POST")

        return Handler

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urllib.parse.urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        parts = [urllib.parse.unquote(part) for part in parsed.path.strip("/").split("/")]
        try:
            if parts == [""] and method == "GET":
                return _send_html(request, 200, self._overview())
            if parts[0] == "card" and len(parts) == 2:
                return self._card_page(request, method, parts[1], raw)
            if parts[0] == "_standin":
                return self._control(request, parts[1:], raw)
            if parts[0] == "v1":
                return self._api(request, method, parts[1:], parsed.query, raw)
        except Exception as error:  # the stand-in must answer, as the real one would
            return _send_json(request, 500, {"code": "P0999", "description": str(error)})
        return _send_json(request, 404, {"code": "P0200", "description": "Not found"})

    def _api(
        self,
        request: BaseHTTPRequestHandler,
        method: str,
        parts: list[str],
        query_string: str,
        raw: bytes,
    ) -> None:
        with self.lock:
            self.requests.append((method, "/v1/" + "/".join(parts)))
            fault = self._faults.popleft() if self._faults else None
        if fault == "timeout":
            time.sleep(self.stall_seconds)
            return _send_json(request, 504, {"code": "P0999", "description": "Gateway timeout"})
        if fault is not None:
            code = "P0900" if fault == 429 else "P0999"
            description = "Too many requests" if fault == 429 else "Something went wrong"
            return _send_json(request, int(fault), {"code": code, "description": description})
        authorization = request.headers.get("Authorization", "")
        with self.lock:
            service = self.services.get(authorization.removeprefix("Bearer ").strip())
        if not authorization.startswith("Bearer ") or service is None:
            return _send_json(request, 401, None)
        query = {key: values[-1] for key, values in urllib.parse.parse_qs(query_string).items()}
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return _send_json(request, 400, {"code": "P0197", "description": "Unparseable JSON"})
        with self.lock:
            status, answer = self._route(service, method, parts, query, body, request)
        _send_json(request, status, answer)

    def _route(
        self,
        service: Service,
        method: str,
        parts: list[str],
        query: dict[str, str],
        body: Any,
        request: BaseHTTPRequestHandler,
    ) -> tuple[int, Any]:
        not_found = 404, {"code": "P0200", "description": "Not found"}
        if parts == ["payments"] and method == "POST":
            if not isinstance(body, dict):
                return 400, {"code": "P0197", "description": "Unparseable JSON"}
            key = request.headers.get("Idempotency-Key", "")
            if key and key in service.idempotency:
                return 201, self._resource(service.payments[service.idempotency[key]])
            status, answer = self._create(service, body)
            if key and status == 201:
                service.idempotency[key] = answer["payment_id"]
            return status, answer
        if parts == ["payments"] and method == "GET":
            chosen = [
                payment
                for payment in service.payments.values()
                if (not query.get("reference") or payment["reference"] == query["reference"])
                and (not query.get("state") or payment["state"]["status"] == query["state"])
            ]
            chosen.sort(key=lambda payment: payment["created_date"], reverse=True)
            items = [self._resource(payment, for_search=True) for payment in chosen]
            return self._search(items, query, "/v1/payments")
        if parts == ["refunds"] and method == "GET":
            refunds = [
                self._refund_resource(refund)
                for payment in service.payments.values()
                for refund in payment["_refunds"]
            ]
            refunds.sort(key=lambda refund: refund["created_date"], reverse=True)
            return self._search(refunds, query, "/v1/refunds")
        if len(parts) < 2 or parts[0] != "payments" or parts[1] not in service.payments:
            return not_found
        payment = service.payments[parts[1]]
        rest = parts[2:]
        if not rest and method == "GET":
            return 200, self._resource(payment)
        if rest == ["events"] and method == "GET":
            return 200, {
                "payment_id": payment["payment_id"],
                "events": list(payment["_events"]),
                "_links": {"self": {"href": f"{self.url}/v1/payments/{parts[1]}/events"}},
            }
        if rest == ["cancel"] and method == "POST":
            if payment["state"]["finished"]:
                return 409, None
            self._finish(service, payment, "cancelled", "P0040", "")
            return 204, None
        if rest == ["refunds"] and method == "POST":
            return self._refund(service, payment, body if isinstance(body, dict) else {})
        if rest == ["refunds"] and method == "GET":
            base = f"{self.url}/v1/payments/{parts[1]}"
            return 200, {
                "payment_id": parts[1],
                "_links": {
                    "self": {"href": f"{base}/refunds", "method": "GET"},
                    "payment": {"href": base, "method": "GET"},
                },
                "_embedded": {
                    "refunds": [self._refund_resource(refund) for refund in payment["_refunds"]]
                },
            }
        if len(rest) == 2 and rest[0] == "refunds" and method == "GET":
            for refund in payment["_refunds"]:
                if refund["refund_id"] == rest[1]:
                    return 200, self._refund_resource(refund)
        return not_found

    def _overview(self) -> str:
        """Every payment the stand-in holds, newest first: what GOV.UK Pay's own admin tool
        would show (for the demo: "refunded on both sides")."""
        rows = []
        with self.lock:
            payments = [
                payment
                for service in self.services.values()
                for payment in service.payments.values()
            ]
            payments.sort(key=lambda payment: payment["created_date"], reverse=True)
            for payment in payments:
                refunded = sum(r["amount"] for r in payment["_refunds"] if r["status"] != "error")
                settlement = payment["settlement_summary"]
                rows.append(
                    "<tr>"
                    + "".join(
                        f"<td>{html.escape(str(cell))}</td>"
                        for cell in (
                            payment["created_date"][:19].replace("T", " "),
                            payment["reference"],
                            payment["payment_id"],
                            f"£{payment['amount'] / 100:,.2f}",
                            payment["state"]["status"],
                            f"£{refunded / 100:,.2f}" if refunded else "",
                            f"£{payment['fee'] / 100:,.2f}" if "fee" in payment else "",
                            settlement.get("captured_date", ""),
                            settlement.get("settled_date", ""),
                        )
                    )
                    + "</tr>"
                )
            webhooks = "on" if self.webhooks_enabled else "off"
        table = (
            "<table><thead><tr><th>Created (UTC)</th><th>Reference</th><th>Payment id</th>"
            "<th>Amount</th><th>Status</th><th>Refunded</th><th>PSP fee</th><th>Captured</th>"
            "<th>Settled</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
        return _page(
            "Payments",
            f'<p class="caption">GOV.UK Pay stand-in (test payments only)</p><h1>Payments</h1>'
            f"<p>Webhooks are {webhooks}.</p>{table}",
        )

    def _control(self, request: BaseHTTPRequestHandler, parts: list[str], raw: bytes) -> None:
        body = json.loads(raw) if raw else {}
        if parts == ["services"]:
            self.add_service(
                body["api_key"],
                webhook_url=body.get("webhook_url", ""),
                webhook_secret=body.get("webhook_secret", ""),
                payment_provider=body.get("payment_provider", "sandbox"),
                fee_basis_points=body.get("fee_basis_points"),
                fee_fixed_pence=body.get("fee_fixed_pence"),
            )
        elif parts == ["payouts"]:
            # One service's payout (by its API key), or every Stripe-backed service's.
            with self.lock:
                keys = (
                    [str(body["api_key"])]
                    if body.get("api_key")
                    else [key for key, service in self.services.items() if service.stripe]
                )
            try:
                paid = [self.payout(key, body.get("settled_date")) for key in keys]
            except KeyError:
                return _send_json(request, 404, {"description": "No such service"})
            except ValueError as error:
                return _send_json(request, 400, {"description": str(error)})
            return _send_json(request, 200, paid[0] if body.get("api_key") else {"payouts": paid})
        elif parts == ["clock"]:
            moment = body.get("now")
            self.travel_to(
                datetime.fromisoformat(moment.replace("Z", "+00:00")) if moment else None
            )
        elif parts == ["faults"]:
            self.fail_next(int(body.get("count", 1)), body.get("status", 500))
        elif parts == ["webhooks"]:
            self.webhooks_enabled = bool(body.get("enabled", True))
        else:
            return _send_json(request, 404, None)
        return _send_json(request, 200, {"ok": True})

    def _card_page(
        self, request: BaseHTTPRequestHandler, method: str, token: str, raw: bytes
    ) -> None:
        with self.lock:
            found = self.charges.get(token)
            if found is None:
                return _send_html(
                    request, 404, _page("Payment not found", "<p>No such payment.</p>")
                )
            service, payment_id = found
            payment = service.payments[payment_id]
            error = None
            if method == "POST":
                form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
                if form.get("action") == "cancel":
                    self._finish(service, payment, "cancelled", "P0030", "")
                else:
                    number = "".join(ch for ch in form.get("card-number", "") if ch.isdigit())
                    error = self._take_card(service, payment, number, form.get("name", ""))
                if error is None:
                    return _redirect(request, payment["return_url"])
            elif payment["state"]["finished"]:
                return _redirect(request, payment["return_url"])
            else:
                self._start(service, payment)
            amount = f"£{payment['amount'] // 100:,}.{payment['amount'] % 100:02d}"
            description = html.escape(payment["description"])
        error_html = (
            f'<p class="error" id="card-number-error" role="alert">{html.escape(error)}</p>'
            if error
            else ""
        )
        body = f"""
<p class="caption">GOV.UK Pay stand-in (test payments only)</p>
<h1>Enter card details</h1>
<p>{description}</p>
<p class="amount">Total amount: <strong>{amount}</strong></p>
<p class="hint">Test cards: 4444 3333 2222 1111 pays; 4000 0000 0000 0002 is declined.</p>
<form method="post" novalidate>
  {error_html}
  <label for="card-number">Card number</label>
  <input id="card-number" name="card-number" autocomplete="off" inputmode="numeric"
    {'aria-describedby="card-number-error"' if error else ""}>
  <label for="expiry">Expiry date (MM/YY)</label>
  <input id="expiry" name="expiry" autocomplete="off">
  <label for="name">Name on card</label>
  <input id="name" name="name" autocomplete="off">
  <label for="cvc">Card security code</label>
  <input id="cvc" name="cvc" autocomplete="off" inputmode="numeric">
  <button type="submit" name="action" value="pay">Continue</button>
  <button type="submit" name="action" value="cancel" class="secondary">Cancel payment</button>
</form>"""
        _send_html(request, 200, _page("Enter card details", body))


def _create_problem(body: dict[str, Any]) -> tuple[str, str] | None:
    for name in ("amount", "reference", "description", "return_url"):
        if name not in body:
            return name, f"Missing mandatory attribute: {name}"
    amount = body["amount"]
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= MAX_AMOUNT:
        return (
            "amount",
            f"Invalid attribute value: amount. Must be less than or equal to {MAX_AMOUNT}",
        )
    for name, most in (("reference", 255), ("description", 255), ("return_url", 2000)):
        if not isinstance(body[name], str) or not 0 < len(body[name]) <= most:
            return (
                name,
                f"Invalid attribute value: {name}. Must be at most {most} characters long",
            )
    if body.get("language", "en") not in {"en", "cy"}:
        return "language", "Invalid attribute value: language. Must be `en` or `cy`"
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict) or not 1 <= len(metadata) <= 15:
            return "metadata", "Invalid attribute value: metadata. Must have 1 to 15 keys"
        for key, value in metadata.items():
            if not 0 < len(key) <= 30:
                return (
                    "metadata",
                    "Invalid attribute value: metadata. Keys must be 1 to 30 characters",
                )
            if isinstance(value, str) and len(value) > 100:
                return (
                    "metadata",
                    "Invalid attribute value: metadata. Values must be at most 100 characters",
                )
            if not isinstance(value, str | int | float | bool):
                return (
                    "metadata",
                    "Invalid attribute value: metadata. Values must be strings, numbers, booleans",
                )
    return None


def _card_details(number: str, name: str) -> dict[str, Any]:
    return {
        "last_digits_card_number": number[-4:],
        "first_digits_card_number": number[:6],
        "cardholder_name": name or "Sam Payer",
        "expiry_date": "04/29",
        "billing_address": {
            "line1": "1 Test Street",
            "postcode": "NB1 1AA",
            "city": "Northbrook",
            "country": "GB",
        },
        "card_brand": "Visa",
        "card_type": "debit",
    }


def _loopback(url: str) -> tuple[str, dict[str, str]]:
    """`*.localhost` names resolve to loopback in browsers and curl, not in Python: connect to
    127.0.0.1 and send the name in the Host header."""
    parts = urllib.parse.urlsplit(url)
    hostname = parts.hostname or ""
    if hostname == "localhost" or hostname.endswith(".localhost"):
        netloc = f"127.0.0.1:{parts.port}" if parts.port else "127.0.0.1"
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), {"Host": parts.netloc}
    return url, {}


def _send_json(request: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    payload = b"" if body is None or status == 204 else json.dumps(body).encode()
    request.send_response(status)
    if payload:
        request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(payload)))
    request.end_headers()
    request.wfile.write(payload)


def _send_html(request: BaseHTTPRequestHandler, status: int, page: str) -> None:
    payload = page.encode()
    request.send_response(status)
    request.send_header("Content-Type", "text/html; charset=utf-8")
    request.send_header("Content-Length", str(len(payload)))
    request.end_headers()
    request.wfile.write(payload)


def _redirect(request: BaseHTTPRequestHandler, location: str) -> None:
    request.send_response(303)
    request.send_header("Location", location)
    request.send_header("Content-Length", "0")
    request.end_headers()


def _page(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}: GOV.UK Pay (stand-in)</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: Arial, sans-serif; margin: 0; color: #0b0c0c; }}
header {{ background: #0b0c0c; color: #fff; padding: 10px 30px; font-weight: bold; }}
main {{ max-width: 1100px; margin: 30px; }}
label {{ display: block; font-weight: bold; margin-top: 20px; }}
input {{ font-size: 19px; padding: 5px; border: 2px solid #0b0c0c; width: 20em; }}
button {{ font-size: 19px; margin-top: 30px; margin-right: 15px; padding: 8px 12px;
  background: #00703c; color: #fff; border: 0; box-shadow: 0 2px 0 #002d18; }}
button.secondary {{ background: #f3f2f1; color: #0b0c0c; box-shadow: 0 2px 0 #929191; }}
.error {{ color: #d4351c; font-weight: bold; }}
.caption, .hint {{ color: #505a5f; }}
table {{ border-collapse: collapse; }} td, th {{ border-bottom: 1px solid #b1b4b6;
  padding: 6px 12px 6px 0; text-align: left; }}
</style></head>
<body><header>GOV.UK Pay</header><main>{body}</main></body></html>"""


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the GOV.UK Pay stand-in.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8111)
    args = parser.parse_args()
    standin = StandinGovukPay(args.host, args.port).start()
    print(f"GOV.UK Pay stand-in on {standin.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":
    main()
