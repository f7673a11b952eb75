"""Forms for the council's configuration: funds, fund groups, VAT codes, channels, rules.

Amounts are typed in pounds and kept in pence; VAT rates are typed as percentages and kept in
basis points; everything else is the model's own fields.
"""

import re

from django import forms
from django.db import connection
from django.db.models import Q

from income.forms.fields import PoundsField
from income.models import Channel, Fund, FundGroup, FundGroupAccess, ReferenceRule, VatCode
from income.money import format_pounds
from tenants.govuk_forms import GovukModelForm
from tenants.models import CouncilRole, User

DATE = {"widget": forms.DateInput(format="%d/%m/%Y"), "input_formats": ["%d/%m/%Y", "%Y-%m-%d"]}
FUND_CODE = re.compile(r"^[A-Z0-9]{1,5}$")
VAT_CODE = re.compile(r"^[A-Z0-9]{1,4}$")
# Channel codes travel in CSV lists (separated by ";") and name clearing accounts.
CHANNEL_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,19}$")
RATE = re.compile(r"^\d{1,2}(\.\d{1,2})?$")


class PenceAsPoundsMixin:
    """Fields named *_pence appear as pounds on the form, and a minimum may not exceed the
    maximum."""

    pounds_fields: tuple[str, ...] = ()

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for name in self.pounds_fields:
            model_field = self._meta.model._meta.get_field(name)  # type: ignore[attr-defined]
            self.fields[name] = PoundsField(  # type: ignore[attr-defined]
                label=model_field.verbose_name.replace(" pence", "").capitalize(),
                # Only a field that may be empty (no maximum) may be left blank: a blank
                # minimum would not mean "the default", it would mean nothing at all.
                required=not model_field.null,
            )
            value = getattr(self.instance, name, None)  # type: ignore[attr-defined]
            if value is not None and not self.is_bound:  # type: ignore[attr-defined]
                self.initial[name] = format_pounds(value).lstrip("£")  # type: ignore[attr-defined]
        self._decorate_widgets()  # type: ignore[attr-defined]

    def clean(self) -> dict:
        data = super().clean()  # type: ignore[misc]
        low, high = data.get("min_amount_pence"), data.get("max_amount_pence")
        if low is not None and high is not None and high < low:
            self.add_error("max_amount_pence", "The maximum must be at least the minimum.")  # type: ignore[attr-defined]
        return data


class FundForm(PenceAsPoundsMixin, GovukModelForm):
    pounds_fields = ("min_amount_pence", "max_amount_pence")
    # Longer than a code may be, so that clean_code gives the one clear message.
    code = forms.CharField(label="Code", max_length=20, help_text="Up to 5 letters or digits")
    active_from = forms.DateField(required=False, label="Active from", **DATE)
    active_to = forms.DateField(required=False, label="Active until", **DATE)

    class Meta:
        model = Fund
        fields = [
            "code", "name", "name_cy", "description", "group", "vat_code", "ledger_code",
            "cost_centre", "subjective", "min_amount_pence", "max_amount_pence", "channels",
            "reference_rule", "overpayment_handling", "refunds_allowed", "is_public",
            "active_from", "active_to", "is_active",
        ]  # fmt: skip
        widgets = {
            "channels": forms.CheckboxSelectMultiple,
            "overpayment_handling": forms.RadioSelect,
            "description": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {
            "is_active": "Taking payments (untick to disable)",
            "is_public": "Offered on the payment portal",
        }
        help_texts = {"name_cy": "Shown on Welsh pages of the payment portal (optional)"}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Disabled settings are not offered for new use, but a fund keeps the ones it has.
        fund = self.instance
        self.fields["vat_code"].queryset = VatCode.objects.filter(
            Q(is_disabled=False) | Q(pk=fund.vat_code_id or 0)
        )
        self.fields["reference_rule"].queryset = ReferenceRule.objects.filter(
            Q(is_active=True) | Q(pk=fund.reference_rule_id or 0)
        )
        chosen = list(fund.channels.values_list("pk", flat=True)) if fund.pk else []
        self.fields["channels"].queryset = Channel.objects.filter(
            Q(is_disabled=False) | Q(pk__in=chosen)
        )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().upper()
        if not FUND_CODE.fullmatch(code):
            raise forms.ValidationError("A fund code is 1 to 5 letters or digits, like CTAX.")
        if Fund.objects.filter(code=code).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(f"There is already a fund with the code {code}.")
        return code

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("active_from"), data.get("active_to")
        if start and end and end < start:
            self.add_error("active_to", "The end date must be on or after the start date.")
        return data


class PercentField(forms.Field):
    """A percentage typed to at most two decimal places, cleaned to integer basis points
    (hundredths of a percent), so "20", "20.00" and "20%" are the same rate."""

    widget = forms.TextInput

    def to_python(self, value: object) -> int | None:
        if isinstance(value, int):
            return value
        text = str(value or "").strip().rstrip("%").strip()
        if not text:
            return None
        if not RATE.fullmatch(text):
            raise forms.ValidationError("Enter a percentage with up to 2 decimal places, like 20.")
        whole, _, part = text.partition(".")
        return int(whole) * 100 + int((part + "00")[:2])

    def prepare_value(self, value: object) -> object:
        if not isinstance(value, int):
            return value
        whole, part = divmod(value, 100)
        return f"{whole}.{part:02d}".rstrip("0") if part else str(whole)


class VatCodeForm(GovukModelForm):
    rate = PercentField(label="Rate (%)", help_text="For example 20 or 5.5")
    effective_from = forms.DateField(required=False, label="Effective from", **DATE)
    effective_to = forms.DateField(required=False, label="Effective until", **DATE)

    class Meta:
        model = VatCode
        fields = ["code", "name", "rate", "effective_from", "effective_to", "is_disabled"]
        error_messages = {"code": {"unique": "There is already a VAT code with this code."}}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:  # bound too: an import compares the file with it
            self.initial["rate"] = self.instance.rate_basis_points

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().upper()
        if not VAT_CODE.fullmatch(code):
            raise forms.ValidationError("A VAT code is 1 to 4 letters or digits, like W0.")
        return code

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("effective_from"), data.get("effective_to")
        if start and end and end < start:
            self.add_error("effective_to", "The end date must be on or after the start date.")
        return data

    def save(self, commit: bool = True) -> VatCode:
        self.instance.rate_basis_points = self.cleaned_data["rate"]
        return super().save(commit=commit)


class ChannelForm(PenceAsPoundsMixin, GovukModelForm):
    pounds_fields = ("min_amount_pence", "max_amount_pence")

    class Meta:
        model = Channel
        fields = ["code", "name", "kind", "min_amount_pence", "max_amount_pence",
                  "taken_by_staff", "is_disabled"]  # fmt: skip
        error_messages = {"code": {"unique": "There is already a channel with this code."}}

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().upper()
        if not CHANNEL_CODE.fullmatch(code):
            raise forms.ValidationError(
                "A channel code is up to 20 letters, digits, hyphens or underscores, like CASH."
            )
        return code


class FundGroupForm(GovukModelForm):
    """A group's name, and which staff work its funds (admins and auditors see every fund)."""

    staff = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        label="Staff who work these funds",
    )  # fmt: skip

    class Meta:
        model = FundGroup
        fields = ["name"]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # The council whose host this is: its members are the people who can be given funds.
        council = connection.tenant
        self.fields["staff"].queryset = User.objects.filter(
            memberships__council_id=council.pk,
            memberships__role__in=[CouncilRole.FINANCE_MANAGER, CouncilRole.INCOME_OFFICER],
        ).order_by("email")
        if self.instance.pk and not self.is_bound:
            self.initial["staff"] = list(
                FundGroupAccess.objects.filter(group=self.instance).values_list(
                    "user_id", flat=True
                )
            )
        self._decorate_widgets()

    def save(self, commit: bool = True) -> FundGroup:
        group = super().save(commit=commit)
        chosen = {user.pk for user in self.cleaned_data["staff"]}
        FundGroupAccess.objects.filter(group=group).exclude(user_id__in=chosen).delete()
        for user_id in chosen:
            FundGroupAccess.objects.get_or_create(group=group, user_id=user_id)
        return group


class ReferenceRuleForm(GovukModelForm):
    class Meta:
        model = ReferenceRule
        fields = [
            "name", "description", "min_length", "max_length", "input_mask", "pattern",
            "check_digit_method", "weights", "modulus", "subtract_from_modulus",
            "source_substitution", "result_substitutions", "is_active",
        ]  # fmt: skip
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class TryReferenceForm(forms.Form):
    reference = forms.CharField(label="Try a reference", max_length=60)
