"""Creating and changing funds. Each fund has its own ledger account from the start."""

from typing import Any

from django.db import transaction
from django.forms.models import model_to_dict

from income.accounts import fund_account
from income.models import Fund
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User


def _snapshot(fund: Fund) -> dict[str, Any]:
    data = model_to_dict(fund)
    data["channels"] = sorted(channel.code for channel in fund.channels.all())
    for key in ("active_from", "active_to"):
        data[key] = data[key].isoformat() if data[key] else None
    return data


@transaction.atomic
def create_fund(
    *, council: Council, acting_user: User, channels: list | None = None, **fields: Any
) -> Fund:
    require_council_capability(acting_user, council, Capability.CONFIGURE_INCOME)
    fund = Fund(**fields)
    fund.full_clean()
    fund.save()
    if channels:
        fund.channels.set(channels)
    fund_account(fund)
    record_audit("fund.created", acting_user=acting_user, target=fund, after=_snapshot(fund))
    return fund


@transaction.atomic
def update_fund(
    *, council: Council, fund: Fund, acting_user: User, channels: list | None = None, **fields: Any
) -> Fund:
    require_council_capability(acting_user, council, Capability.CONFIGURE_INCOME)
    fund = Fund.objects.select_for_update().get(pk=fund.pk)
    before = _snapshot(fund)
    for name, value in fields.items():
        setattr(fund, name, value)
    fund.full_clean()
    fund.save()
    if channels is not None:
        fund.channels.set(channels)
    record_audit(
        "fund.changed", acting_user=acting_user, target=fund, before=before, after=_snapshot(fund)
    )
    return fund
