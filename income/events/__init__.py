"""Event notifications (outbound webhooks): an outbox written with each change (outbox), sent
after the commit by the worker (delivery), signed like Stripe's (signing), to the endpoints a
council admin registers (endpoints, addresses)."""
