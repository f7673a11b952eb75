"""GOV.UK Pay's webhook endpoint (one per council: the council's own host) and phone payments."""

import contextlib

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from income.actions.govuk_pay.payments import (
    BasketItem,
    PaymentServiceUnavailable,
    refresh_payment,
    start_payment,
)
from income.actions.govuk_pay.webhooks import receive_webhook
from income.forms.govuk_pay import BasketItemForm, PayerForm
from income.fund_visibility import visible_funds
from income.govuk_pay.client import GovukPayError
from income.govuk_pay.signature import SIGNATURE_HEADER
from income.models import GovukPayPayment, PaymentOrigin, PaymentStatus
from tenants.capabilities import Capability
from tenants.view_permissions import council_capability_required


@csrf_exempt  # GOV.UK Pay signs the body instead; there is no session to forge
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    """Public on the council's host: the signature, checked with this council's secrets, is
    the authentication. Stored and answered at once; applied by a task."""
    intake = receive_webhook(
        body=request.body, signature=request.headers.get(SIGNATURE_HEADER, ""), acting_user=None
    )
    return HttpResponse(status=intake.status)


@council_capability_required(Capability.TAKE_PAYMENTS)
def phone_payment(request: HttpRequest) -> HttpResponse:
    """A caller pays by card: staff create the GOV.UK Pay payment and key the card details on
    GOV.UK Pay's page; the fund and reference are checked exactly as on the portal."""
    funds = visible_funds(request.membership).filter(is_active=True).order_by("code")
    form = BasketItemForm(request.POST or None, funds=funds)
    form.fields["fund"].label = "Fund"
    form.fields["fund"].label_from_instance = str
    form.fields["reference"].help_text = "The caller's reference for this fund."
    payer = PayerForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and payer.is_valid():
        item = BasketItem(
            form.cleaned_data["fund"],
            form.cleaned_data["reference"].strip().upper(),
            form.cleaned_data["amount"],
        )
        try:
            payment = start_payment(
                council=request.council,
                items=[item],
                origin=PaymentOrigin.PHONE,
                payer_name=payer.cleaned_data["payer_name"],
                return_url=lambda token: request.build_absolute_uri(
                    reverse("income:govuk-pay-phone-return", args=[token])
                ),
                acting_user=request.user,
            )
        except PaymentServiceUnavailable:
            form.add_error(
                None,
                "GOV.UK Pay is not answering, so no payment was started and nothing was taken. "
                "Try again in a few minutes.",
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect(payment.next_url)
    return render(request, "income/govuk_pay/phone.html", {"form": form, "payer": payer})


@council_capability_required(Capability.TAKE_PAYMENTS)
def phone_return(request: HttpRequest, token: str) -> HttpResponse:
    payment = get_object_or_404(GovukPayPayment, return_token=token, origin=PaymentOrigin.PHONE)
    # Only while there is something to learn: a finished payment is not asked about again.
    if not payment.finished or (payment.status == PaymentStatus.SUCCESS and not payment.receipt_id):
        with contextlib.suppress(GovukPayError):
            refresh_payment(payment=payment, acting_user=request.user)
    payment.refresh_from_db()
    return render(
        request,
        "income/govuk_pay/phone_return.html",
        {"payment": payment, "items": payment.items.select_related("fund")},
    )
