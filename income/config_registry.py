"""What a council configures, each described once: its model, form, list columns, CSV
columns and the key an imported row is matched on. The views, the actions and the CSV
import and export all work from this table."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.forms import ModelForm

from income.accounts import clearing_account, fund_account
from income.forms.config import (
    ChannelForm,
    FundForm,
    FundGroupForm,
    ReferenceRuleForm,
    VatCodeForm,
)
from income.models import Channel, Fund, FundGroup, ReferenceRule, VatCode


@dataclass(frozen=True)
class ConfigEntity:
    slug: str
    title: str  # plural, for headings
    model: type[models.Model]
    form: type[ModelForm]
    columns: tuple[str, ...]  # shown in the list
    key: str  # an imported row updates the object with this field's value, or creates one
    csv_fields: tuple[str, ...]
    disabled_field: str | None = None  # True means disabled
    enabled_field: str | None = None  # True means enabled
    opened: Callable[[models.Model], object] | None = None  # run once a new one is saved


ENTITIES = {
    entity.slug: entity
    for entity in (
        ConfigEntity(
            "funds",
            "Funds",
            Fund,
            FundForm,
            ("code", "name", "group", "vat_code", "ledger_code", "reference_rule"),
            "code",
            (
                "code",
                "name",
                "description",
                "ledger_code",
                "cost_centre",
                "subjective",
                "min_amount_pence",
                "max_amount_pence",
                "overpayment_handling",
                "refunds_allowed",
                "is_public",
                "is_active",
            ),
            enabled_field="is_active",
            opened=fund_account,
        ),
        ConfigEntity(
            "vat-codes",
            "VAT codes",
            VatCode,
            VatCodeForm,
            ("code", "name", "rate_basis_points"),
            "code",
            ("code", "name", "rate", "is_disabled"),
            disabled_field="is_disabled",
        ),
        ConfigEntity(
            "channels",
            "Channels (methods of payment)",
            Channel,
            ChannelForm,
            ("code", "name", "kind", "taken_by_staff"),
            "code",
            (
                "code",
                "name",
                "kind",
                "min_amount_pence",
                "max_amount_pence",
                "taken_by_staff",
                "is_disabled",
            ),
            disabled_field="is_disabled",
            opened=clearing_account,
        ),
        ConfigEntity(
            "fund-groups", "Fund groups", FundGroup, FundGroupForm, ("name",), "name", ("name",)
        ),
        ConfigEntity(
            "reference-rules",
            "Reference rules",
            ReferenceRule,
            ReferenceRuleForm,
            ("name", "input_mask", "check_digit_method"),
            "name",
            (
                "name",
                "description",
                "min_length",
                "max_length",
                "input_mask",
                "pattern",
                "check_digit_method",
                "weights",
                "modulus",
                "subtract_from_modulus",
                "source_substitution",
                "result_substitutions",
                "is_active",
            ),
            enabled_field="is_active",
        ),
    )
}
