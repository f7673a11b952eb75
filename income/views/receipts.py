import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from income.actions.counter import take_counter_payment
from income.actions.receipts import Allocation
from income.forms.receipting import (
    MAX_PAYMENT_LINES,
    PaymentForm,
    PaymentLineFormSet,
    with_another_line,
)
from income.forms.search import ReceiptSearchForm
from income.fund_visibility import visible_funds, visible_receipts
from income.models import GovukPayPayment, Receipt
from income.receipt_history import held_amounts, receipt_audit_events, receipt_journals
from income.receipt_search import Cursor, count_receipts, first_page_and_count, search_receipts
from income.receipt_search_csv import receipt_csv_lines
from tenants.capabilities import Capability
from tenants.view_permissions import council_capability_required


@council_capability_required(Capability.TAKE_PAYMENTS)
def take_payment(request: HttpRequest) -> HttpResponse:
    funds = visible_funds(request.membership).filter(is_active=True)
    token = request.POST.get("submission_token") or uuid.uuid4().hex
    if request.method == "POST" and "add_line" in request.POST:
        form, lines = with_another_line(request.POST, funds=funds)
    elif request.method == "POST":
        form = PaymentForm(request.POST)
        lines = PaymentLineFormSet(request.POST, form_kwargs={"funds": funds})
        if form.is_valid() and lines.is_valid():
            allocations = [
                Allocation(line["fund"], line["amount"], line.get("reference", "").strip())
                for line in lines.cleaned_data
                if line.get("fund")
            ]
            try:
                recorded = take_counter_payment(
                    council=request.council,
                    acting_user=request.user,
                    submission_token=token,
                    allocations=allocations,
                    **form.cleaned_data,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Payment taken: receipt {recorded.receipt.number}")
                return redirect("income:receipt", number=recorded.receipt.number)
    else:
        form = PaymentForm()
        lines = PaymentLineFormSet(form_kwargs={"funds": funds})
    return render(
        request,
        "income/receipts/take_payment.html",
        {
            "form": form,
            "lines": lines,
            "submission_token": token,
            "may_add_line": lines.total_form_count() < MAX_PAYMENT_LINES,
        },
    )


@council_capability_required(Capability.VIEW_INCOME)
def receipt_search(request: HttpRequest) -> HttpResponse:
    # The choices need only each fund's code and name, not its group and VAT code.
    funds = visible_funds(request.membership).select_related(None).only("id", "code", "name")
    form = ReceiptSearchForm(request.GET or None, funds=funds)
    results, next_cursor, count = [], None, None
    if form.is_bound and form.is_valid() and not form.to_query().is_empty:
        query = form.to_query()
        if request.GET.get("format") == "csv":
            response = StreamingHttpResponse(
                receipt_csv_lines(query, visible_to=request.membership),
                content_type="text/csv; charset=utf-8",
            )
            response["Content-Disposition"] = 'attachment; filename="receipts.csv"'
            return response
        after = Cursor.decode(request.GET.get("after", ""))
        if after is None:
            results, next_cursor, count = first_page_and_count(query, visible_to=request.membership)
        else:
            results, next_cursor = search_receipts(
                query, after=after, visible_to=request.membership
            )
            count = count_receipts(query, visible_to=request.membership)
    next_params = request.GET.copy()
    csv_params = request.GET.copy()
    csv_params.pop("after", None)
    csv_params["format"] = "csv"
    if next_cursor:
        next_params["after"] = next_cursor.encode()
    return render(
        request,
        "income/receipts/search.html",
        {
            "form": form,
            "results": results,
            "next_query": next_params.urlencode() if next_cursor else "",
            "count": count,
            "csv_query": csv_params.urlencode(),
            "searched": form.is_bound,
        },
    )


@council_capability_required(Capability.VIEW_INCOME)
def receipt_detail(request: HttpRequest, number: str) -> HttpResponse:
    receipt = get_object_or_404(
        visible_receipts(request.membership, Receipt.objects.select_related("channel")),
        number=number,
    )
    context = {
        "receipt": receipt,
        "held": held_amounts(receipt),
        "journals": receipt_journals(receipt),
        "refunds": receipt.refunds.select_related("fund").order_by("raised_at"),
        "audit_events": receipt_audit_events(receipt),
        # A card payment's GOV.UK Pay side: its id, and when it was captured and settled.
        "card_payment": GovukPayPayment.objects.filter(receipt=receipt).first(),
    }
    if request.GET.get("download") == "1":
        response = render(request, "income/receipts/printable.html", context)
        response["Content-Disposition"] = f'attachment; filename="receipt-{receipt.number}.html"'
        return response
    return render(request, "income/receipts/detail.html", context)
