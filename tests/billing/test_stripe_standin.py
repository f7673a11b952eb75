"""The Stripe stand-in honours the contract billing relies on, met through the real library."""

import pytest
import stripe

from tests.standins.stripe_server import StandinStripe


@pytest.fixture
def standin():
    with StandinStripe() as server:
        yield server


def _options(standin: StandinStripe) -> dict:
    stripe.api_base = standin.url
    stripe.max_network_retries = 0
    return {"api_key": "sk_test_standin"}


def test_same_key_same_params_is_the_same_object_different_params_an_idempotency_error(standin):
    options = _options(standin)
    first = stripe.Customer.create(name="A", idempotency_key="k1", **options)
    again = stripe.Customer.create(name="A", idempotency_key="k1", **options)
    assert first.id == again.id
    with pytest.raises(stripe.IdempotencyError) as refused:
        stripe.Customer.create(name="B", idempotency_key="k1", **options)
    assert refused.value.http_status == 400
    assert "same parameters" in str(refused.value.user_message)
    assert len(standin.of_type("customer")) == 1


def test_error_shapes_card_error_rate_limit_and_server_error(standin):
    options = _options(standin)
    standin.fail_next(402, 429, 500)
    with pytest.raises(stripe.CardError) as card:
        stripe.Customer.create(name="A", **options)
    assert card.value.code == "card_declined"
    with pytest.raises(stripe.RateLimitError) as limited:
        stripe.Customer.create(name="A", **options)
    assert limited.value.http_status == 429
    with pytest.raises(stripe.APIError) as broken:
        stripe.Customer.create(name="A", **options)
    assert broken.value.http_status == 500
    assert not standin.of_type("customer")


def test_webhooks_are_signed_as_stripe_signs_them(standin):
    event = standin.event("invoice.paid", {"id": "in_1", "object": "invoice"})
    [(body, signature)] = standin.deliveries([event], "whsec_x")
    assert stripe.Webhook.construct_event(body, signature, "whsec_x").id == event["id"]
    [(_, late)] = standin.deliveries([event], "whsec_x", late_seconds=600)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, late, "whsec_x")


def test_a_test_clock_moves_forward_only_and_meter_events_follow_it(standin):
    options = _options(standin)
    clock = stripe.test_helpers.TestClock.create(frozen_time=standin.now, **options)
    later = standin.now + 40 * 86400
    moved = stripe.test_helpers.TestClock.advance(clock.id, frozen_time=later, **options)
    assert moved.frozen_time == later
    with pytest.raises(stripe.InvalidRequestError):
        stripe.test_helpers.TestClock.advance(clock.id, frozen_time=later - 1, **options)
    # An event 36 days before the clock is too old for Stripe's 35-day window.
    with pytest.raises(stripe.InvalidRequestError) as old:
        stripe.billing.MeterEvent.create(
            event_name="x",
            payload={"stripe_customer_id": "cus_1", "value": "1"},
            timestamp=later - 36 * 86400,
            **options,
        )
    assert old.value.code == "timestamp_too_far_in_past"
