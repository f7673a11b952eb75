from income.models.api_client import ApiClient, ApiClientSecret, ApiIdempotencyKey, ApiScope
from income.models.cash_up import CashUp, CashUpReceipt, CashUpStatus
from income.models.channel import Channel, ChannelKind
from income.models.daily_totals import DailyAccountTotal, DailyChannelTakings
from income.models.events import (
    DeliveryAttempt,
    DeliveryStatus,
    EventDelivery,
    EventEndpoint,
    EventType,
    OutboxEvent,
)
from income.models.exports import (
    AmountFormat,
    ExportLayout,
    ExportRun,
    ExportStatus,
    ExportTarget,
)
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
from income.models.imported_day import ImportedDay
from income.models.imports import (
    NOT_BLOCKING_STATUSES,
    RETRYABLE_STATUSES,
    CsvMapping,
    ImportAdjustment,
    ImportBatch,
    ImportRejectedLine,
    ImportRule,
    ImportStatus,
    ImportSuspendedLine,
    ReturnedDebit,
    ReturnedDebitStatus,
)
from income.models.ledger import (
    EFFECTIVE_REFERENCE_SQL,
    Account,
    AccountKind,
    Journal,
    JournalKind,
    Posting,
    effective_reference,
    own_reference,
)
from income.models.payer_name import PayerName
from income.models.possible_duplicate import PossibleDuplicate, PossibleDuplicateStatus
from income.models.receipt import Receipt, ReceiptStatus
from income.models.reconciliation import (
    BankStatement,
    MatchKind,
    ReconciliationSignOff,
    StatementLine,
)
from income.models.reference_rule import ReferenceRule
from income.models.refund import Refund, RefundApprovalLimit, RefundRoute, RefundStatus
from income.models.unexplained_debit import (
    DebitResolution,
    UnexplainedDebit,
    UnexplainedDebitStatus,
)
from income.models.vat import VatCode
from income.models.worker_heartbeat import WorkerHeartbeat

__all__ = [
    "EFFECTIVE_REFERENCE_SQL",
    "NOT_BLOCKING_STATUSES",
    "RETRYABLE_STATUSES",
    "Account",
    "AccountKind",
    "AmountFormat",
    "ApiClient",
    "ApiClientSecret",
    "ApiIdempotencyKey",
    "ApiScope",
    "BankStatement",
    "CardRefundStatus",
    "CashUp",
    "CashUpReceipt",
    "CashUpStatus",
    "Channel",
    "ChannelKind",
    "CsvMapping",
    "DailyAccountTotal",
    "DailyChannelTakings",
    "DebitResolution",
    "DeliveryAttempt",
    "DeliveryStatus",
    "EventDelivery",
    "EventEndpoint",
    "EventType",
    "ExportLayout",
    "ExportRun",
    "ExportStatus",
    "ExportTarget",
    "Fund",
    "FundGroup",
    "FundGroupAccess",
    "GovukPayConnection",
    "GovukPayPayment",
    "GovukPayPaymentItem",
    "GovukPayRefund",
    "GovukPayWebhookMessage",
    "ImportAdjustment",
    "ImportBatch",
    "ImportRejectedLine",
    "ImportRule",
    "ImportStatus",
    "ImportSuspendedLine",
    "ImportedDay",
    "Journal",
    "JournalKind",
    "MatchKind",
    "OutboxEvent",
    "OverpaymentHandling",
    "PayerName",
    "PaymentOrigin",
    "PaymentStatus",
    "PossibleDuplicate",
    "PossibleDuplicateStatus",
    "Posting",
    "Receipt",
    "ReceiptStatus",
    "ReconciliationSignOff",
    "ReferenceRule",
    "Refund",
    "RefundApprovalLimit",
    "RefundRoute",
    "RefundStatus",
    "ReturnedDebit",
    "ReturnedDebitStatus",
    "StatementLine",
    "UnexplainedDebit",
    "UnexplainedDebitStatus",
    "VatCode",
    "WebhookOutcome",
    "WorkerHeartbeat",
    "effective_reference",
    "own_reference",
]
