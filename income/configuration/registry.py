"""What a council configures, each described once: its model, form, list columns, CSV
columns and the key an imported row is matched on. The views, the actions and the CSV
import and export all work from this table."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
class Column:
    """A list column: a heading and the model fields whose values it shows, in that order
    (several fields share a column where they are read together, like a fund's limits)."""

    heading: str
    fields: tuple[str, ...]
    joiner: str = " / "


def _fund_group_staff(group: Any) -> dict[str, object]:
    # Who works a group is part of what a change to the group changed.
    return {"staff": sorted(access.user.email for access in group.access.select_related("user"))}


@dataclass(frozen=True)
class ConfigEntity:
    slug: str
    title: str  # plural, for headings
    noun: str  # singular, for messages ("there is no VAT code …")
    model: type[models.Model]
    form: type[ModelForm]
    columns: tuple[str | Column, ...]  # shown in the list
    key: str  # an imported row updates the object with this field's value, or creates one
    csv_fields: tuple[str, ...]
    disabled_field: str | None = None  # True means disabled
    enabled_field: str | None = None  # True means enabled
    opened: Callable[[models.Model], object] | None = None  # run once a new one is saved
    list_filter: str | None = None  # a foreign key the list can be narrowed by
    # More than the model's own fields to record in the audit log's before and after.
    described: Callable[[Any], dict[str, object]] | None = None
    summary: str = ""  # what it is for, on the configuration index

    def is_enabled(self, obj: models.Model) -> bool:
        if self.enabled_field:
            return bool(getattr(obj, self.enabled_field))
        if self.disabled_field:
            return not getattr(obj, self.disabled_field)
        return True

    @property
    def can_be_disabled(self) -> bool:
        return bool(self.enabled_field or self.disabled_field)


def entity_for_model(model: type[models.Model]) -> "ConfigEntity | None":
    return next((entity for entity in ENTITIES.values() if entity.model is model), None)


ENTITIES = {
    entity.slug: entity
    for entity in (
        ConfigEntity(
            "funds",
            "Funds",
            "fund",
            Fund,
            FundForm,
            (
                "code",
                "name",
                "group",
                Column("VAT", ("vat_code",)),
                Column(
                    "Ledger / cost centre / subjective",
                    ("ledger_code", "cost_centre", "subjective"),
                ),
                Column("Minimum to maximum", ("min_amount_pence", "max_amount_pence"), " to "),
                "channels",
                "reference_rule",
            ),
            "code",
            (
                "code",
                "name",
                "name_cy",
                "description",
                "group",
                "vat_code",
                "ledger_code",
                "cost_centre",
                "subjective",
                "min_amount_pence",
                "max_amount_pence",
                "channels",
                "reference_rule",
                "overpayment_handling",
                "refunds_allowed",
                "is_public",
                "active_from",
                "active_to",
                "is_active",
            ),
            enabled_field="is_active",
            opened=fund_account,
            list_filter="group",
            summary="What money is for: codes, ledger codes, limits, channels and reference rules.",
        ),
        ConfigEntity(
            "vat-codes",
            "VAT codes",
            "VAT code",
            VatCode,
            VatCodeForm,
            (
                "code",
                "name",
                Column("Rate", ("rate_basis_points",)),
                Column("Effective", ("effective_from", "effective_to"), " to "),
            ),
            "code",
            ("code", "name", "rate", "effective_from", "effective_to", "is_disabled"),
            disabled_field="is_disabled",
            summary="VAT treatments and their rates, with the dates they apply.",
        ),
        ConfigEntity(
            "channels",
            "Channels (methods of payment)",
            "channel",
            Channel,
            ChannelForm,
            (
                "code",
                "name",
                "kind",
                Column("Minimum to maximum", ("min_amount_pence", "max_amount_pence"), " to "),
                "taken_by_staff",
            ),
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
            summary="Methods of payment, their limits, and whether staff take them.",
        ),
        ConfigEntity(
            "fund-groups",
            "Fund groups",
            "fund group",
            FundGroup,
            FundGroupForm,
            ("name",),
            "name",
            ("name",),
            described=_fund_group_staff,
            summary="Groups of funds, and which staff work each group.",
        ),
        ConfigEntity(
            "reference-rules",
            "Reference rules",
            "reference rule",
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
            summary="How a payer's reference is checked: lengths, masks, patterns, check digits.",
        ),
    )
}
