"""The GOV.UK Pay client against the local stand-in over real sockets; every request the client
sends and every response it accepts is validated against GOV.UK Pay's OpenAPI description."""

import json

import httpx
import pytest

from income.govuk_pay.client import (
    GovukPayAuthenticationError,
    GovukPayClient,
    GovukPayNotFound,
    GovukPayRateLimited,
    GovukPayRequestRejected,
    GovukPayUnavailable,
    RefundAmountMismatch,
)
from income.govuk_pay.signature import matching_secret, sign
from tests.fixtures.govuk_pay import SpecRecorder, validate_response
from tests.standins.govuk_pay_server import StandinGovukPay

API_KEY = "api_test_northbrook_0123456789abcdef"


@pytest.fixture
def standin():
    with StandinGovukPay(webhook_retry_delays=(0.05, 0.1)) as server:
        server.add_service(API_KEY)
        # A stall far past the client's timeout, and a timeout far past an ordinary answer on
        # a loaded machine: a slow answer is never mistaken for a stall, nor a stall for one.
        server.stall_seconds = 8.0
        yield server


@pytest.fixture
def spec():
    recorder = SpecRecorder()
    yield recorder
    assert not recorder.failures, "\n".join(recorder.failures)


@pytest.fixture
def client(standin, spec):
    with GovukPayClient(
        API_KEY,
        base_url=standin.url,
        timeout=2.0,
        retries=2,
        backoff_seconds=0.01,
        event_hooks=spec.hooks,
    ) as client:
        yield client


def _create(client: GovukPayClient, **overrides):
    fields = {
        "amount": 12345,
        "reference": "WEB-1",
        "description": "Council Tax",
        "return_url": "https://northbrook.example/pay/return/abc/",
        "metadata": {"fund_1": "CTAX", "ledger_code_1": "L100", "vat_code_1": "N0"},
    }
    return client.create_payment(**{**fields, **overrides})


def test_a_payment_is_created_fetched_and_its_events_listed(client, standin, spec):
    created = _create(client)
    assert created["state"] == {"status": "created", "finished": False}
    assert created["_links"]["next_url"]["href"].startswith(standin.url + "/card/")
    assert created["metadata"]["fund_1"] == "CTAX"

    standin.complete(created["payment_id"])
    fetched = client.get_payment(created["payment_id"])
    assert fetched["state"]["status"] == "success"
    assert fetched["settlement_summary"]["captured_date"]
    assert fetched["refund_summary"]["amount_available"] == 12345
    assert fetched["card_details"]["last_digits_card_number"] == "1111"
    statuses = [event["state"]["status"] for event in client.payment_events(created["payment_id"])]
    assert statuses == ["created", "started", "submitted", "success"]
    assert len(spec.checked) == 3


def test_a_retried_create_with_the_same_idempotency_key_makes_one_payment(client, standin):
    first = _create(client, idempotency_key="same-key")
    second = _create(client, idempotency_key="same-key")
    assert first["payment_id"] == second["payment_id"]
    assert len(standin.services[API_KEY].payments) == 1


def test_search_pages_through_every_payment(client):
    ids = {_create(client, reference=f"WEB-{n}")["payment_id"] for n in range(7)}
    page = client.search_payments_page(page=2, display_size=3)
    assert page["page"] == 2 and page["count"] == 3 and page["total"] == 7
    assert {p["payment_id"] for p in client.search_payments(display_size=3)} == ids
    assert [p["reference"] for p in client.search_payments(reference="WEB-4")] == ["WEB-4"]


def test_refunds_compare_and_set_the_amount_available(client, standin):
    payment = _create(client)
    standin.complete(payment["payment_id"])
    refund = client.create_refund(payment["payment_id"], amount=2345, refund_amount_available=12345)
    assert refund["status"] in {"submitted", "success"}
    with pytest.raises(RefundAmountMismatch):
        # A second refund that still believes 123.45 is left: refused, nothing refunded.
        client.create_refund(payment["payment_id"], amount=2345, refund_amount_available=12345)
    assert client.get_payment(payment["payment_id"])["refund_summary"]["amount_available"] == 10000
    assert client.get_refund(payment["payment_id"], refund["refund_id"])["amount"] == 2345
    assert [r["refund_id"] for r in client.payment_refunds(payment["payment_id"])] == [
        refund["refund_id"]
    ]
    assert [r["refund_id"] for r in client.search_refunds()] == [refund["refund_id"]]


def test_5xx_and_429_are_retried_with_backoff(client, standin):
    standin.fail_next(2, 503)
    assert _create(client)["state"]["status"] == "created"
    standin.fail_next(1, 429)
    standin.fail_next(1, 500)
    assert client.search_payments_page()["total"] == 1


def test_errors_after_the_retries_are_typed(client, standin):
    standin.fail_next(3, 500)
    with pytest.raises(GovukPayUnavailable):
        _create(client)
    standin.fail_next(3, 429)
    with pytest.raises(GovukPayRateLimited) as limited:
        client.search_payments_page()
    assert limited.value.code == "P0900"
    with pytest.raises(GovukPayNotFound):
        client.get_payment("nosuchpayment0000000000000")


def test_a_request_the_spec_forbids_is_rejected_by_the_stand_in(standin):
    # No spec hooks here: this request is wrong on purpose (over GOV.UK Pay's maximum).
    with (
        GovukPayClient(API_KEY, base_url=standin.url) as unchecked,
        pytest.raises(GovukPayRequestRejected) as rejected,
    ):
        _create(unchecked, amount=10_000_001)
    assert rejected.value.field == "amount"


def test_a_wrong_api_key_is_an_authentication_error(standin, spec):
    with (
        GovukPayClient("wrong-key", base_url=standin.url, event_hooks=spec.hooks) as client,
        pytest.raises(GovukPayAuthenticationError),
    ):
        client.search_payments_page()


def test_a_stalled_answer_times_out_and_is_retried(client, standin):
    standin.fail_next(1, "timeout")
    assert client.search_payments_page()["total"] == 0


def test_a_stall_on_every_try_is_unavailable(standin):
    standin.fail_next(2, "timeout")
    with (
        GovukPayClient(
            API_KEY, base_url=standin.url, timeout=1.0, retries=1, backoff_seconds=0.01
        ) as client,
        pytest.raises(GovukPayUnavailable, match="in time"),
    ):
        client.search_payments_page()


def test_nothing_listening_is_unavailable():
    with (
        GovukPayClient(
            API_KEY, base_url="http://127.0.0.1:9", retries=1, backoff_seconds=0.01
        ) as client,
        pytest.raises(GovukPayUnavailable, match="reach"),
    ):
        client.get_payment("x")


def test_the_card_page_takes_a_test_card_and_returns_the_payer(client, standin):
    payment = _create(client)
    next_url = payment["_links"]["next_url"]["href"]
    with httpx.Client() as browser:
        page = browser.get(next_url)
        assert "Enter card details" in page.text and "£123.45" in page.text
        assert client.get_payment(payment["payment_id"])["state"]["status"] == "started"
        refused = browser.post(next_url, data={"card-number": "1234"})
        assert refused.status_code == 200 and "Enter a test card number" in refused.text
        answer = browser.post(next_url, data={"card-number": "4444 3333 2222 1111"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "https://northbrook.example/pay/return/abc/"
    assert client.get_payment(payment["payment_id"])["state"]["status"] == "success"


def test_the_decline_card_fails_the_payment(client, standin):
    payment = _create(client)
    with httpx.Client() as browser:
        browser.post(
            payment["_links"]["next_url"]["href"], data={"card-number": "4000000000000002"}
        )
    state = client.get_payment(payment["payment_id"])["state"]
    assert state == {
        "status": "failed",
        "finished": True,
        "code": "P0010",
        "message": "Payment method rejected",
    }


def test_stand_in_answers_outside_the_client_also_match_the_spec(standin):
    """Error answers and pages the client raises on are checked too, raw."""
    with httpx.Client(base_url=standin.url) as http:
        auth = {"Authorization": f"Bearer {API_KEY}"}
        for response in (
            http.post("/v1/payments", json={"amount": -1}, headers=auth),
            http.get("/v1/payments/unknown", headers=auth),
            http.get("/v1/payments?display_size=501", headers=auth),
            http.get("/v1/payments", headers={"Authorization": "Bearer nope"}),
        ):
            validate_response(response)
            assert response.status_code in {401, 404, 422}


def test_webhooks_are_signed_and_retried_until_answered(standin):
    received: list[tuple[bytes, str]] = []
    answers = iter([500, 200, 200, 200, 200, 200])

    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers["Pay-Signature"]))
            self.send_response(next(answers))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        standin.add_service(
            API_KEY,
            webhook_url=f"http://127.0.0.1:{server.server_port}/hook",
            webhook_secret="whsec-1",
        )
        with GovukPayClient(API_KEY, base_url=standin.url) as client:
            payment = _create(client)
        standin.complete(payment["payment_id"])
        from tests.waiting import wait_for

        wait_for(lambda: len(received) >= 4, timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    events = [json.loads(body)["event_type"] for body, _ in received]
    # started was answered 500 first, so it came again.
    assert events.count("card_payment_started") == 2
    assert {"card_payment_succeeded", "card_payment_captured"} <= set(events)
    for body, signature in received:
        assert signature == sign(body, "whsec-1")
        assert matching_secret(body, signature, ["other", "whsec-1"]) == "whsec-1"
        assert matching_secret(body[:-1] + b" ", signature, ["whsec-1"]) is None
        message = json.loads(body)
        assert message["resource_type"] == "payment" and message["api_version"] == 1


def test_webhooks_can_come_twice_and_out_of_order(standin):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tests.waiting import wait_for

    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    standin.duplicate_webhooks = True
    standin.shuffle_webhooks = True
    try:
        standin.add_service(
            API_KEY, webhook_url=f"http://127.0.0.1:{server.server_port}/", webhook_secret="s"
        )
        with GovukPayClient(API_KEY, base_url=standin.url) as client:
            payment = _create(client)
        standin.complete(payment["payment_id"])
        wait_for(lambda: len(received) >= 6, timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    ids = [message["webhook_message_id"] for message in received]
    assert len(ids) == 6 and len(set(ids)) == 3  # each message delivered twice
