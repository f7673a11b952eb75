"""GOV.UK Pay's webhook endpoint (one per council: the council's own host) and phone payments."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from income.actions.govuk_pay import receive_webhook
from income.govuk_pay.signature import SIGNATURE_HEADER


@csrf_exempt  # GOV.UK Pay signs the body instead; there is no session to forge
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    """Public on the council's host: the signature, checked with this council's secrets, is
    the authentication. Stored and answered at once; applied by a task."""
    intake = receive_webhook(
        body=request.body, signature=request.headers.get(SIGNATURE_HEADER, ""), acting_user=None
    )
    return HttpResponse(status=intake.status)
