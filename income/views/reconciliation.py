"""Pages for bank reconciliation: load a statement, match it, work what is left, sign off."""

import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from income.actions.reconciliation import (
    DEFAULT_TOLERANCE_PENCE,
    MAX_STATEMENT_BYTES,
    STATEMENT_FORMATS,
    explain_line,
    load_statement,
    match_statement,
    sign_off_day,
)
from income.expected_bankings import awaiting_payout, expected_bankings
from income.formats.registry import FORMATS
from income.models import BankStatement, CsvMapping, ReconciliationSignOff, StatementLine
from income.money import parse_pounds
from tenants.capabilities import Capability
from tenants.govuk_forms import GovukForm
from tenants.upload_limits import refuse_oversized_upload, upload_limit
from tenants.view_permissions import council_capability_required, member_may


class StatementForm(GovukForm):
    format = forms.ChoiceField(
        label="Statement format",
        choices=[(name, FORMATS[name].TITLE) for name in STATEMENT_FORMATS],
        widget=forms.RadioSelect,
    )
    mapping = forms.ModelChoiceField(
        queryset=CsvMapping.objects.all(), required=False, label="Column mapping (bank CSV)"
    )
    file = forms.FileField(label="Bank statement")


class MatchForm(GovukForm):
    tolerance = forms.CharField(
        label="Tolerance",
        initial=f"{DEFAULT_TOLERANCE_PENCE / 100:.2f}",
        help_text="A credit this close to what was expected is matched, with the difference "
        "noted. 0.00 for exact matches only.",
        max_length=12,
    )

    def clean_tolerance(self) -> int:
        return parse_pounds(self.cleaned_data["tolerance"])


class ExplainForm(GovukForm):
    note = forms.CharField(
        label="What is this line?", widget=forms.Textarea(attrs={"rows": 3}), max_length=500
    )


@upload_limit(MAX_STATEMENT_BYTES)
@council_capability_required(Capability.VIEW_INCOME)
def index(request: HttpRequest) -> HttpResponse:
    form = StatementForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not member_may(request, Capability.IMPORT_FILES):
            return HttpResponse("Your role does not allow this.", status=403)
        if not refuse_oversized_upload(request, form) and form.is_valid():
            try:
                statement = load_statement(
                    council=request.council,
                    uploaded_file=form.cleaned_data["file"],
                    format_name=form.cleaned_data["format"],
                    mapping=form.cleaned_data["mapping"],
                    acting_user=request.user,
                )
            except ValidationError as error:
                form.add_error("file", error)
            else:
                return redirect("income:reconciliation-statement", pk=statement.pk)
    today = timezone.localdate()
    days = (
        StatementLine.objects.values("booked_on")
        .annotate(
            lines=Count("id"), open=Count("id", filter=Q(match_kind="")), total=Sum("amount_pence")
        )
        .order_by("-booked_on")[:31]
    )
    signed = {
        s.day: s
        for s in ReconciliationSignOff.objects.filter(day__in=[d["booked_on"] for d in days])
    }
    return render(
        request,
        "income/reconciliation/index.html",
        {
            "form": form,
            "statements": BankStatement.objects.all()[:20],
            "worklist": StatementLine.objects.filter(match_kind="").select_related("statement")[
                :200
            ],
            "waiting": expected_bankings(today - datetime.timedelta(days=30), today),
            "awaiting_payout": awaiting_payout(),
            "days": [dict(day, signed=signed.get(day["booked_on"])) for day in days],
            "may_work": member_may(request, Capability.IMPORT_FILES),
            "may_sign": member_may(request, Capability.SIGN_OFF_RECONCILIATION),
        },
    )


@council_capability_required(Capability.VIEW_INCOME)
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    statement = get_object_or_404(BankStatement, pk=pk)
    form = MatchForm(request.POST or None)
    if request.method == "POST":
        if not member_may(request, Capability.IMPORT_FILES):
            return HttpResponse("Your role does not allow this.", status=403)
        if form.is_valid():
            matched = match_statement(
                council=request.council,
                statement=statement,
                acting_user=request.user,
                tolerance_pence=form.cleaned_data["tolerance"],
            )
            messages.success(request, f"{matched} line{'s' if matched != 1 else ''} matched")
            return redirect("income:reconciliation-statement", pk=statement.pk)
    return render(
        request,
        "income/reconciliation/statement.html",
        {
            "statement": statement,
            "lines": statement.lines.all(),
            "form": form,
            "may_work": member_may(request, Capability.IMPORT_FILES),
        },
    )


@council_capability_required(Capability.IMPORT_FILES)
def explain(request: HttpRequest, pk: int) -> HttpResponse:
    line = get_object_or_404(StatementLine.objects.select_related("statement"), pk=pk)
    form = ExplainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            explain_line(
                council=request.council,
                line=line,
                note=form.cleaned_data["note"],
                acting_user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("income:reconciliation")
    return render(request, "income/reconciliation/explain.html", {"line": line, "form": form})


@council_capability_required(Capability.SIGN_OFF_RECONCILIATION)
def sign_off(request: HttpRequest, day: str) -> HttpResponse:
    if request.method != "POST":
        return redirect("income:reconciliation")
    try:
        when = datetime.date.fromisoformat(day)
        sign_off_day(council=request.council, day=when, acting_user=request.user)
    except ValueError:
        messages.error(request, "That is not a date.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{when:%-d %B %Y} signed off")
    return redirect("income:reconciliation")
