"""Forms for working money: suspense allocations, transfers, refunds and their decisions."""

from collections.abc import Sequence

from django import forms
from django.forms import formset_factory

from income.forms.fields import FundLineForm, PoundsField
from income.models import Fund, Refund
from income.money import format_pounds
from tenants.govuk_forms import GovukForm

# Each line of a split from suspense takes its own fund, reference and amount.
FundLineFormSet = formset_factory(FundLineForm, extra=3, max_num=5)


class NoteForm(GovukForm):
    note = forms.CharField(
        label="Why", widget=forms.Textarea(attrs={"rows": 3}), max_length=500,
        help_text="This is kept in the audit log.",
    )  # fmt: skip


class TransferForm(GovukForm):
    # A line the receipt's money is held in: a fund and the reference (income.forms.held_lines).
    from_fund = forms.ChoiceField(
        label="From fund", help_text="The money keeps its reference, which the fund it moves to "
        "must accept.",
    )  # fmt: skip
    to_fund = forms.ModelChoiceField(queryset=Fund.objects.none(), label="To fund")
    amount = PoundsField(label="Amount")
    note = forms.CharField(label="Why", widget=forms.Textarea(attrs={"rows": 3}), max_length=500)

    def __init__(
        self, *args: object, from_lines: list[tuple[str, str]], to_funds: object, **kwargs: object
    ):
        super().__init__(*args, **kwargs)
        self.fields["from_fund"].choices = from_lines
        self.fields["to_fund"].queryset = to_funds


class RaiseRefundForm(GovukForm):
    source = forms.ChoiceField(label="Refund from", widget=forms.RadioSelect)
    amount = PoundsField(label="Amount")
    reason = forms.CharField(
        label="Reason", widget=forms.Textarea(attrs={"rows": 3}), max_length=500
    )

    def __init__(self, *args: object, sources: list[tuple[str, str]], **kwargs: object):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = sources


class DecisionForm(GovukForm):
    decision = forms.ChoiceField(
        label="Decision",
        widget=forms.RadioSelect,
        choices=[("approve", "Approve"), ("reject", "Reject")],
    )
    note = forms.CharField(
        label="Note", widget=forms.Textarea(attrs={"rows": 3}), max_length=500, required=False,
        help_text="Required when rejecting.",
    )  # fmt: skip
    rejected_refunds_seen = forms.TypedMultipleChoiceField(
        label="Refunds rejected on this receipt before",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick each to confirm you have read why it was rejected: this refund cannot "
        "be approved otherwise.",
    )

    def __init__(self, *args: object, rejected: Sequence[Refund] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if rejected:
            self.fields["rejected_refunds_seen"].choices = [
                (
                    refund.pk,
                    f"Refund {refund.pk}: {format_pounds(refund.amount_pence)}, rejected by "
                    f"{refund.decided_by_email}: {refund.decision_note}",
                )
                for refund in rejected
            ]
        else:
            del self.fields["rejected_refunds_seen"]
