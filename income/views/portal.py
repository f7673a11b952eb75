"""The council's payment portal: public pages on the council's host (citizens are not members,
so these views carry no capability check; CouncilMembershipMiddleware lets anonymous people
through). Pick what to pay for, add it to a basket, pay once with GOV.UK Pay, come back to a
confirmation with a receipt number. Works without JavaScript."""

import contextlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from income.actions.govuk_pay.payments import (
    MAX_BASKET_ITEMS,
    BasketItem,
    PaymentServiceUnavailable,
    basket_item_problems,
    card_channel,
    refresh_payment,
    start_payment,
)
from income.forms.govuk_pay import BasketItemForm
from income.fund_checks import fund_reference_problem
from income.govuk_pay.client import GovukPayError
from income.govuk_pay.connections import default_connection
from income.models import Fund, GovukPayPayment, PaymentOrigin, PaymentStatus
from tenants.models.council import CouncilStatus

BASKET = "portal_basket"
LANGUAGE = "portal_language"


def in_portal_language(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve the page in Welsh or English: `?lang=cy` (or `en`) chooses, where the council
    offers Welsh; the choice is kept in the session and also sets GOV.UK Pay's card pages."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        offered = _welsh_offered()
        asked = request.GET.get("lang")
        if offered and asked in {"en", "cy"}:
            request.session[LANGUAGE] = asked
        language = request.session.get(LANGUAGE, "en") if offered else "en"
        request.portal_language = language
        request.welsh_offered = offered
        with translation.override(language):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
        response.headers.setdefault("Content-Language", language)
        return response

    return wrapped


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context = {
        **context,
        "html_lang": request.portal_language,
        "welsh_offered": request.welsh_offered,
    }
    return render(request, template, context, status=status)


def public_funds() -> QuerySet[Fund]:
    # A fund that names its channels must name the card channel; one naming none takes all.
    return (
        Fund.objects.filter(is_public=True, is_active=True)
        .filter(Q(channels=None) | Q(channels=card_channel()))
        .select_related("reference_rule", "vat_code")
        .distinct()
    )


def _basket(request: HttpRequest) -> list[BasketItem]:
    rows = request.session.get(BASKET, [])
    funds = public_funds().in_bulk([row["fund"] for row in rows])
    return [
        BasketItem(funds[row["fund"]], row["reference"], row["amount"])
        for row in rows
        if row["fund"] in funds
    ]


def _save_basket(request: HttpRequest, items: list[BasketItem]) -> None:
    request.session[BASKET] = [
        {"fund": item.fund.pk, "reference": item.reference, "amount": item.amount_pence}
        for item in items
    ]


def _online(request: HttpRequest) -> bool:
    # A suspended council takes no new payments (its staff's posts are refused upstream too).
    if request.council.status == CouncilStatus.SUSPENDED:
        return False
    connection = default_connection()
    return connection is not None and connection.is_ready


def _welsh_offered() -> bool:
    connection = default_connection()
    return bool(connection and connection.welsh_enabled)


@in_portal_language
def start(request: HttpRequest) -> HttpResponse:
    """What do you want to pay for? One item at a time, into the basket."""
    if not _online(request):
        return _render(request, "income/portal/closed.html", {}, status=503)
    funds = public_funds().order_by("name")
    basket = _basket(request)
    form = BasketItemForm(request.POST or None, funds=funds)
    if request.method == "POST" and form.is_valid():
        item = BasketItem(
            form.cleaned_data["fund"],
            # As the reference rules compare it: no spaces, capitals.
            "".join(form.cleaned_data["reference"].split()).upper(),
            form.cleaned_data["amount"],
        )
        reference_problem = fund_reference_problem(item.fund, item.reference)
        if reference_problem:
            form.add_error(
                "reference",
                _("Enter the reference exactly as it is on your %(fund)s bill or notice.")
                % {"fund": item.fund.display_name}
                + " "
                + _portal_reason(reference_problem),
            )
        else:
            problems = basket_item_problems(item, origin=PaymentOrigin.PORTAL)
            if len(basket) >= MAX_BASKET_ITEMS:
                problems.append(
                    _("You can pay for up to %(count)d things at once.")
                    % {"count": MAX_BASKET_ITEMS}
                )
            for problem in problems:
                form.add_error("amount" if "£" in problem else None, problem)
        if not form.errors:
            _save_basket(request, [*basket, item])
            return redirect("income:portal-basket")
    return _render(
        request, "income/portal/start.html", {"form": form, "basket": basket, "funds": funds}
    )


def _portal_reason(reference_problem: str) -> str:
    """The rule's reason for the payer: "This one must be…", or (a wrong check digit, which
    says no more than that) a sentence wholly in the page's language."""
    separator, reason = reference_problem.partition(": ")[1:]
    if not separator:
        return _("This reference is not valid.")
    # The rule's reasons read "must be…", "is not…" or "character 2 must be…".
    reason = reason.rstrip(".")
    if reason.startswith(("must ", "is ")):
        return f"This one {reason}."
    return f"{reason[:1].upper()}{reason[1:]}."


@in_portal_language
def basket(request: HttpRequest) -> HttpResponse:
    items = _basket(request)
    if not items:
        return redirect("income:portal")
    return _render(
        request,
        "income/portal/basket.html",
        {
            "items": items,
            "total": sum(item.amount_pence for item in items),
            "can_add": len(items) < MAX_BASKET_ITEMS,
            "language": request.portal_language,
        },
    )


@require_POST
def remove(request: HttpRequest, index: int) -> HttpResponse:
    items = _basket(request)
    if 0 <= index < len(items):
        del items[index]
        _save_basket(request, items)
    return redirect("income:portal-basket")


@require_POST
@in_portal_language
def checkout(request: HttpRequest) -> HttpResponse:
    """Create one GOV.UK Pay payment for the whole basket and send the payer to it."""
    items = _basket(request)
    if not items:
        return redirect("income:portal")
    language = "cy" if request.POST.get("language") == "cy" and request.welsh_offered else "en"
    try:
        payment = start_payment(
            council=request.council,
            items=items,
            origin=PaymentOrigin.PORTAL,
            language=language,
            return_url=lambda token: request.build_absolute_uri(
                reverse("income:portal-return", args=[token])
            ),
            acting_user=None,
        )
    except PaymentServiceUnavailable:
        return _render(request, "income/portal/unavailable.html", {}, status=503)
    except ValidationError as error:
        return _render(
            request,
            "income/portal/basket.html",
            {
                "items": items,
                "total": sum(item.amount_pence for item in items),
                "can_add": len(items) < MAX_BASKET_ITEMS,
                "problems": error.messages,
                "language": language,
            },
            status=400,
        )
    return redirect(payment.next_url, permanent=False)


@in_portal_language
def payment_return(request: HttpRequest, token: str) -> HttpResponse:
    """GOV.UK Pay sends the payer back here; the token is all the URL carries."""
    payment = get_object_or_404(GovukPayPayment, return_token=token, origin=PaymentOrigin.PORTAL)
    # If GOV.UK Pay does not answer, say what we know: the webhook or the mop-up brings the rest.
    # Only while there is something to learn: a finished payment is not asked about again.
    if not payment.finished or (payment.status == PaymentStatus.SUCCESS and not payment.receipt_id):
        with contextlib.suppress(GovukPayError):
            refresh_payment(payment=payment)
    payment.refresh_from_db()
    if payment.status == PaymentStatus.SUCCESS:
        request.session.pop(BASKET, None)
    return _render(
        request,
        "income/portal/return.html",
        {
            "payment": payment,
            "items": payment.items.select_related("fund"),
            "succeeded": payment.status == PaymentStatus.SUCCESS,
            "failed": payment.finished and payment.status != PaymentStatus.SUCCESS,
        },
    )
