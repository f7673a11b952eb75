"""Stripe's webhook endpoint on the platform host: verify, keep once, apply in the background."""

from celery import current_app
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.actions.webhooks import RefusedWebhook, receive


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        stored, created = receive(request.body, request.headers.get("Stripe-Signature", ""))
    except RefusedWebhook as refused:
        return HttpResponse(str(refused), status=400, content_type="text/plain")
    if created:
        # Answer Stripe at once; the work happens after the inbox row is committed.
        event_id = stored.event_id
        transaction.on_commit(
            lambda: current_app.send_task("billing.apply_stripe_event", [event_id])
        )
    return HttpResponse("ok" if created else "already received", content_type="text/plain")
