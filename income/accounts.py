"""Finding (or opening) the ledger's accounts."""

from income.models import Account, AccountKind, Channel, Fund

SYSTEM_ACCOUNTS = {
    AccountKind.SUSPENSE: ("SUSPENSE", "Suspense: money not yet allocated to a fund"),
    AccountKind.REFUNDS_PAYABLE: ("REFUNDS-PAYABLE", "Refunds approved, not yet paid"),
    AccountKind.FEES: ("FEES", "Payment provider fees"),
    AccountKind.CASH_VARIANCE: ("CASH-VARIANCE", "Cash over and short"),
    AccountKind.UNEXPLAINED_DEBITS: (
        "UNEXPLAINED-DEBITS",
        "Unexplained debits: money out that no receipt explains yet",
    ),
}
BANK_ACCOUNT_CODE = "BANK"


def system_account(kind: AccountKind) -> Account:
    code, name = SYSTEM_ACCOUNTS[kind]
    account, _ = Account.objects.get_or_create(kind=kind, defaults={"code": code, "name": name})
    return account


def suspense_account() -> Account:
    return system_account(AccountKind.SUSPENSE)


def unexplained_debits_account() -> Account:
    return system_account(AccountKind.UNEXPLAINED_DEBITS)


def fees_account() -> Account:
    return system_account(AccountKind.FEES)


def refunds_payable_account() -> Account:
    return system_account(AccountKind.REFUNDS_PAYABLE)


def bank_account() -> Account:
    """The council's bank account, where cash-ups are banked and refunds are paid from."""
    account, _ = Account.objects.get_or_create(
        code=BANK_ACCOUNT_CODE,
        defaults={"kind": AccountKind.CLEARING, "name": "Bank: the council's income account"},
    )
    return account


def fund_account(fund: Fund) -> Account:
    account, _ = Account.objects.get_or_create(
        fund=fund,
        defaults={"kind": AccountKind.FUND, "code": f"FUND-{fund.code}", "name": fund.name},
    )
    return account


def clearing_account(channel: Channel) -> Account:
    account, _ = Account.objects.get_or_create(
        channel=channel,
        defaults={
            "kind": AccountKind.CLEARING,
            "code": f"CLEARING-{channel.code}",
            "name": f"{channel.name} clearing",
        },
    )
    return account
