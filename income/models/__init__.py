from income.models.cash_up import CashUp, CashUpStatus
from income.models.channel import Channel, ChannelKind
from income.models.fund import Fund, FundGroup, OverpaymentHandling
from income.models.fund_access import FundGroupAccess
from income.models.govuk_pay import (
    CardRefundStatus,
    GovukPayConnection,
    GovukPayPayment,
    GovukPayPaymentItem,
    GovukPayRefund,
    GovukPayWebhookMessage,
    PaymentOrigin,
    PaymentStatus,
    WebhookOutcome,
)
from income.models.ledger import Account, AccountKind, Journal, JournalKind, Posting
from income.models.receipt import Receipt, ReceiptStatus
from income.models.reference_rule import ReferenceRule
from income.models.refund import Refund, RefundApprovalLimit, RefundRoute, RefundStatus
from income.models.vat import VatCode
from income.models.worker_heartbeat import WorkerHeartbeat

__all__ = [
    "Account",
    "AccountKind",
    "CardRefundStatus",
    "CashUp",
    "CashUpStatus",
    "Channel",
    "ChannelKind",
    "Fund",
    "FundGroup",
    "FundGroupAccess",
    "GovukPayConnection",
    "GovukPayPayment",
    "GovukPayPaymentItem",
    "GovukPayRefund",
    "GovukPayWebhookMessage",
    "Journal",
    "JournalKind",
    "OverpaymentHandling",
    "PaymentOrigin",
    "PaymentStatus",
    "Posting",
    "Receipt",
    "ReceiptStatus",
    "ReferenceRule",
    "Refund",
    "RefundApprovalLimit",
    "RefundRoute",
    "RefundStatus",
    "VatCode",
    "WebhookOutcome",
    "WorkerHeartbeat",
]
