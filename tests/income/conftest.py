"""Fixtures for work inside council A's schema: its defaults, funds and staff."""

import pytest

from income.defaults import seed_income_defaults
from income.models import Channel
from tenants.models import CouncilRole
from tests.conftest import make_member
from tests.factories import FundFactory


@pytest.fixture
def ledger(db, in_council_a):
    """Council A's schema with its defaults (VAT codes, channels, system accounts)."""
    seed_income_defaults()
    return in_council_a


@pytest.fixture
def cash(ledger) -> Channel:
    return Channel.objects.get(code="CASH")


@pytest.fixture
def card(ledger) -> Channel:
    return Channel.objects.get(code="CARD")


@pytest.fixture
def council_tax(ledger):
    return FundFactory(code="CTAX", name="Council Tax")


@pytest.fixture
def parking(ledger):
    return FundFactory(code="PARK", name="Parking Fines")


@pytest.fixture
def officer(council_a):
    return make_member(council_a, CouncilRole.INCOME_OFFICER)


@pytest.fixture
def manager(council_a):
    return make_member(council_a, CouncilRole.FINANCE_MANAGER)


@pytest.fixture
def auditor(council_a):
    return make_member(council_a, CouncilRole.AUDITOR)
