"""A new council starts with its VAT codes, methods of payment and ledger accounts."""

import pytest
from django_tenants.utils import schema_context

from income.models import Account, AccountKind, Channel, RefundApprovalLimit, VatCode

pytestmark = pytest.mark.django_db


def test_a_provisioned_council_has_its_income_defaults(council_b):
    with schema_context(council_b.schema_name):
        assert VatCode.objects.get(code="W0").rate_basis_points == 2000
        assert set(Channel.objects.values_list("code", flat=True)) >= {
            "CASH", "CHEQUE", "CARD", "ALLPAY-PO", "ALLPAY-PP", "BANK", "DD",
        }  # fmt: skip
        # Every channel has its clearing account; every system account exists once.
        assert Account.objects.filter(kind=AccountKind.CLEARING, channel__isnull=False).count() == (
            Channel.objects.count()
        )
        for kind in (AccountKind.SUSPENSE, AccountKind.REFUNDS_PAYABLE, AccountKind.FEES):
            assert Account.objects.filter(kind=kind).count() == 1
        assert RefundApprovalLimit.objects.filter(role="admin", max_amount_pence=None).exists()
