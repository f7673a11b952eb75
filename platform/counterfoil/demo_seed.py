# Long because the demo's two councils, their funds, rules, staff and payments are one
# idempotent script that reads top to bottom.
"""Two fictional councils, their funds, and staff in every role, seeded idempotently for the demo.

Every demo login has MFA enrolled (the design requires it for every staff and operator role):
a TOTP secret derived from the email, so it stays the same on every run and can be typed into
an authenticator app, and recovery codes. `counterfoil demo-code <email>` prints the current
six-digit code for a demo login, for those without an authenticator app at hand.
"""

import base64
import datetime
import hashlib
import random
import time
from dataclasses import dataclass

import httpx
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from counterfoil.local_database import require_local_database
from income.accounts import fund_account
from income.actions.receipts import Allocation, record_receipt
from income.actions.refunds import raise_refund
from income.models import (
    Channel,
    CsvMapping,
    ExportTarget,
    Fund,
    ImportRule,
    ReferenceRule,
    VatCode,
)
from income.reference_rules import expected_check_character
from tenants.actions.applications import submit_application
from tenants.actions.councils import create_council
from tenants.models import (
    Council,
    CouncilApplication,
    CouncilRole,
    Membership,
    PlatformRole,
    User,
)

# Printed by `counterfoil demo` for the fictional councils' staff; never used outside the demo.
DEMO_PASSWORD = "counterfoil-demo-2026"  # noqa: S105
DEMO_EMAIL_DOMAIN = ".example"


@dataclass(frozen=True)
class DemoCouncil:
    name: str
    slug: str
    funds: tuple[tuple[str, str], ...]
    # Its GOV.UK Pay service's payment provider at the stand-in: "stripe" reports fees and
    # pays out by settled date; "sandbox" (as Worldpay) reports neither.
    govuk_pay_provider: str = "sandbox"


DEMO_COUNCILS = (
    DemoCouncil(
        name="Northbrook Borough Council",
        slug="northbrook",
        funds=(
            ("CTAX", "Council Tax"),
            ("NNDR", "Business Rates"),
            ("HRENT", "Housing Rents"),
            ("PARK", "Parking Fines"),
            ("LIB", "Library Charges"),
        ),
        govuk_pay_provider="stripe",
    ),
    DemoCouncil(
        name="Eastmere District Council",
        slug="eastmere",
        funds=(
            ("CTAX", "Council Tax"),
            ("NNDR", "Business Rates"),
            ("TRADE", "Trade Waste"),
            ("PARK", "Penalty Charge Notices"),
        ),
    ),
)

# Eastmere's portal speaks Welsh: its funds' Welsh names.
WELSH_FUND_NAMES = {
    "CTAX": "Treth y Cyngor",
    "NNDR": "Ardrethi Busnes",
    "TRADE": "Gwastraff Masnach",
    "PARK": "Hysbysiadau Tâl Cosb",
}

# One person of each council role at each council: <role>@<slug>.example
DEMO_ROLES = (
    ("admin", CouncilRole.ADMIN, "Council admin"),
    ("manager", CouncilRole.FINANCE_MANAGER, "Finance manager"),
    ("officer", CouncilRole.INCOME_OFFICER, "Income officer"),
    ("auditor", CouncilRole.AUDITOR, "Auditor"),
)
OPERATOR_EMAIL = "operator@counterfoil.example"
SUPPORT_EMAIL = "support@counterfoil.example"
# Works for both councils, as shared-services staff do.
SHARED_SERVICES_EMAIL = "shared@services.example"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    where: str
    role: str


def seed_demo(
    govuk_pay_url: str = "", webhook_port: int | None = None, identity_provider_url: str = ""
) -> list[DemoLogin]:
    """Create the demo councils, their funds and staff. Running it again changes nothing.

    With `govuk_pay_url` (the GOV.UK Pay stand-in the demo starts), each council is connected
    to its own GOV.UK Pay service there, whose webhooks come to the council's host on
    `webhook_port`. With `identity_provider_url` (the demo's stand-in OpenID provider),
    Eastmere's staff may sign in through it. Refuses (NotALocalDatabase) a database on another
    machine."""
    require_local_database()
    logins = [
        _login(
            OPERATOR_EMAIL, "platform", "Platform operator", platform_role=PlatformRole.OPERATOR
        ),
        _login(SUPPORT_EMAIL, "platform", "Platform support", platform_role=PlatformRole.SUPPORT),
    ]
    shared = _ensure_user(SHARED_SERVICES_EMAIL, full_name="Sam Shared-Services")
    for demo in DEMO_COUNCILS:
        council = create_council(name=demo.name, slug=demo.slug, acting_user=None)
        for local_part, role, label in DEMO_ROLES:
            email = f"{local_part}@{demo.slug}.example"
            user = _ensure_user(email, full_name=f"{demo.name} {label.lower()}")
            Membership.objects.get_or_create(user=user, council=council, defaults={"role": role})
            logins.append(DemoLogin(email, demo.slug, label))
        Membership.objects.get_or_create(
            user=shared, council=council, defaults={"role": CouncilRole.INCOME_OFFICER}
        )
        _seed_funds(council, demo)
        _seed_import_config(council)
        _seed_payments(council, officer=User.objects.get(email=f"officer@{demo.slug}.example"))
        if govuk_pay_url:
            _connect_govuk_pay(council, govuk_pay_url, webhook_port, demo.govuk_pay_provider)
            if demo.govuk_pay_provider == "stripe":
                seed_card_payout(
                    council,
                    govuk_pay_url,
                    api_key=demo_govuk_pay_keys(council.slug)[0],
                    officer=User.objects.get(email=f"officer@{demo.slug}.example"),
                    manager=User.objects.get(email=f"manager@{demo.slug}.example"),
                    return_host=_council_address(council, webhook_port),
                )
    if identity_provider_url:
        _connect_identity_provider(Council.objects.get(slug="eastmere"), identity_provider_url)
    logins.append(DemoLogin(SHARED_SERVICES_EMAIL, "both councils", "Income officer"))
    _seed_application()
    return logins


# The client the demo's stand-in OpenID provider registers (tests.standins.oidc_provider).
DEMO_IDENTITY_PROVIDER_CLIENT = ("counterfoil", "counterfoil-standin-secret")


def _connect_identity_provider(council: Council, issuer_url: str) -> None:
    """Eastmere signs its staff in through the demo's OpenID provider (our TOTP still asked),
    beside their passwords: "Sign in with Eastmere staff account" on its sign-in page."""
    from tenants.actions.identity_providers import save_identity_provider
    from tenants.models import CouncilIdentityProvider

    if CouncilIdentityProvider.objects.filter(council=council).exists():
        return  # seeded before (or set up by hand since): left as it is
    client_id, secret = DEMO_IDENTITY_PROVIDER_CLIENT
    save_identity_provider(
        council=council,
        kind="generic",
        display_name="Eastmere staff account",
        issuer_url=issuer_url,
        client_id=client_id,
        client_secret=secret,
        acting_user=User.objects.get(email=f"admin@{council.slug}.example"),
    )


# A council waiting in the operator console's onboarding queue.
DEMO_APPLICATION = {
    "council_name": "Westmarch District Council",
    "gss_code": "E07000999",
    "requested_slug": "westmarch",
    "contact_name": "Wren Marsh",
    "contact_email": "finance@westmarch.example",
}


def _seed_application() -> None:
    if not CouncilApplication.objects.filter(gss_code=DEMO_APPLICATION["gss_code"]).exists():
        submit_application(**DEMO_APPLICATION, acting_user=None)


def demo_govuk_pay_keys(slug: str) -> tuple[str, str]:
    """The demo council's GOV.UK Pay API key and webhook secret at the stand-in (test values,
    valid nowhere else)."""
    digest = hashlib.sha256(f"counterfoil-demo-govuk-pay:{slug}".encode()).hexdigest()
    return f"api_test_demo_{slug}_{digest[:24]}", f"webhook_demo_{digest[24:48]}"


def _council_address(council: Council, port: int | None) -> str:
    from django.conf import settings

    return f"http://{council.slug}.{settings.PLATFORM_DOMAIN}{f':{port}' if port else ''}"


def _connect_govuk_pay(
    council: Council, govuk_pay_url: str, webhook_port: int | None, provider: str = "sandbox"
) -> None:
    from income.actions.govuk_pay.connections import save_connection
    from income.models import GovukPayConnection

    api_key, secret = demo_govuk_pay_keys(council.slug)
    webhook_url = f"{_council_address(council, webhook_port)}/govuk-pay/webhook/"
    # The stand-in keeps its services in memory: tell it again on every start.
    httpx.post(
        f"{govuk_pay_url}/_standin/services",
        json={
            "api_key": api_key,
            "webhook_url": webhook_url,
            "webhook_secret": secret,
            "payment_provider": provider,
        },
        timeout=5,
    ).raise_for_status()
    with schema_context(council.schema_name):
        existing = GovukPayConnection.objects.filter(fund=None).first()
        if existing is not None and existing.base_url == govuk_pay_url:
            return
        save_connection(
            council=council,
            acting_user=User.objects.get(email=f"admin@{council.slug}.example"),
            api_key=api_key,
            webhook_secret=secret,
            base_url=govuk_pay_url,
            welsh_enabled=council.slug == "eastmere",
        )
        card = Channel.objects.get(code="CARD")
        for fund in Fund.objects.filter(is_public=True):
            if fund.channels.exists():
                fund.channels.add(card)


# Card payments made through GOV.UK Pay on 23 November 2026 (the day of the sample allpay
# file), one partly refunded, all paid out by Stripe the next day: the sample bank statement
# (income/demo_files/reconciliation_statement.xml) carries that payout, £874.38, which is
# £911.33 taken less £35.00 refunded and £1.95 of fees.
DEMO_CARD_DAY = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC)
DEMO_PAYOUT_DAY = datetime.date(2026, 11, 24)
DEMO_CARD_PAYMENTS = (
    ("CTAX", 12_050), ("PARK", 7_000), ("HRENT", 35_000),
    ("CTAX", 15_833), ("NNDR", 21_000), ("LIB", 250),
)  # fmt: skip
DEMO_CARD_REFUND = (1, 3_500, "Charged the full fine: it was paid within 14 days")
STANDIN_TEST_CARD = "4444333322221111"


def seed_card_payout(
    council: Council,
    govuk_pay_url: str,
    *,
    api_key: str,
    officer: User,
    manager: User,
    return_host: str,
) -> None:
    """Citizens' card payments through the GOV.UK Pay stand-in on DEMO_CARD_DAY, one refund,
    and Stripe's payout of them on DEMO_PAYOUT_DAY, each brought into the council's ledger the
    way real ones are (the payer's card page, the return visit, the mop-up). Once only: a
    council with that payout already is left alone (the stand-in forgets on every start,
    the council does not)."""
    from income.actions.govuk_pay.mop_up import mop_up
    from income.actions.govuk_pay.payments import BasketItem, refresh_payment, start_payment
    from income.actions.govuk_pay.refunds import send_card_refund as send_refund
    from income.actions.refunds import approve_refund
    from income.models import GovukPayConnection, GovukPayPayment, GovukPayRefund, PaymentOrigin

    with schema_context(council.schema_name):
        if GovukPayPayment.objects.filter(settled_on=DEMO_PAYOUT_DAY).exists():
            return
        picker = random.Random(f"{council.slug}:card-payout")
        with httpx.Client(base_url=govuk_pay_url, timeout=10) as standin:
            # The stand-in's clock goes back to that morning while the payments are made.
            moved = standin.post("/_standin/clock", json={"now": DEMO_CARD_DAY.isoformat()})
            moved.raise_for_status()
            try:
                receipts = []
                for code, pence in DEMO_CARD_PAYMENTS:
                    fund = Fund.objects.get(code=code)
                    payer = f"{picker.choice(DEMO_FIRST_NAMES)} {picker.choice(DEMO_LAST_NAMES)}"
                    payment = start_payment(
                        council=council,
                        items=[BasketItem(fund, demo_reference(fund, picker), pence)],
                        origin=PaymentOrigin.PORTAL,
                        return_url=lambda token: f"{return_host}/pay/return/{token}/",
                        acting_user=None,
                        payer_name=payer,
                    )
                    # What the payer's browser sends from GOV.UK Pay's card page.
                    paid = standin.post(
                        payment.next_url, data={"card-number": STANDIN_TEST_CARD, "name": payer}
                    )
                    if paid.status_code != 303:
                        raise RuntimeError(f"The stand-in refused the card ({paid.status_code})")
                    refresh_payment(payment=payment)
                    payment.refresh_from_db()
                    receipts.append(payment.receipt)
                number, pence, reason = DEMO_CARD_REFUND
                refund = raise_refund(
                    council=council, receipt=receipts[number],
                    fund=Fund.objects.get(code=DEMO_CARD_PAYMENTS[number][0]),
                    amount_pence=pence, reason=reason, acting_user=officer,
                )  # fmt: skip
                approve_refund(council=council, refund=refund, acting_user=manager)
                # Sent now rather than by the worker, so that the payout can take it.
                send_refund(card_refund_pk=GovukPayRefund.objects.get(refund=refund).pk)
            finally:
                standin.post("/_standin/clock", json={"now": None})
            standin.post(
                "/_standin/payouts",
                json={"api_key": api_key, "settled_date": DEMO_PAYOUT_DAY.isoformat()},
            ).raise_for_status()
        # The mop-up finds the payout by its settled date, as it would GOV.UK Pay's.
        mop_up(
            connection=GovukPayConnection.objects.get(fund=None),
            settled_lookback=max(timezone.localdate() - DEMO_PAYOUT_DAY, datetime.timedelta(0))
            + datetime.timedelta(days=1),
        )


def demo_totp_secret(email: str) -> str:
    """A stable TOTP secret per demo login, so reseeding never invalidates an enrolled app."""
    digest = hashlib.sha256(f"counterfoil-demo-totp:{email}".encode()).digest()[:20]
    return base64.b32encode(digest).decode()


def current_demo_code(email: str) -> str:
    """The TOTP code a demo login's authenticator would show now."""
    if not email.endswith(DEMO_EMAIL_DOMAIN):
        raise ValueError("Codes are only shown for the demo's own .example logins.")
    authenticator = Authenticator.objects.get(user__email=email, type=Authenticator.Type.TOTP)
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(decrypt(authenticator.data["secret"]), counter))


def _login(email: str, where: str, label: str, *, platform_role: str) -> DemoLogin:
    _ensure_user(email, full_name=label, platform_role=platform_role)
    return DemoLogin(email, where, label)


# Real-world shapes of council references, entered as configuration (no code per council).
DEMO_RULES = {
    "CTAX": dict(name="Council Tax account", input_mask="5#######", check_digit_method="luhn"),
    "NNDR": dict(
        name="Business Rates account", input_mask="6######*", check_digit_method="weighted_sum",
        weights="8,7,6,5,4,3,2", modulus=11, subtract_from_modulus=True,
        result_substitutions="10:X,11:0",
    ),
    "HRENT": dict(
        name="Housing rent account", input_mask="HR######", check_digit_method="weighted_sum",
        source_substitution="18", weights="2,7,6,5,4,3,2", modulus=11,
        subtract_from_modulus=True, result_substitutions="10:0,11:1",
    ),
    "PARK": dict(
        name="Penalty charge notice", input_mask="NB#########", check_digit_method="mod10"
    ),
    "LIB": dict(
        name="Library card", input_mask="2#############", check_digit_method="dynix",
        weights="2", modulus=10, result_substitutions="10:0",
    ),
}  # fmt: skip


def _seed_funds(council: Council, demo: DemoCouncil) -> None:
    with schema_context(council.schema_name), transaction.atomic():
        for index, (code, name) in enumerate(demo.funds):
            rule = None
            if code in DEMO_RULES:
                settings = dict(DEMO_RULES[code])
                rule, _ = ReferenceRule.objects.get_or_create(
                    name=settings.pop("name"), defaults=settings
                )
            fund, _ = Fund.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "name_cy": WELSH_FUND_NAMES.get(code, "") if demo.slug == "eastmere" else "",
                    "ledger_code": f"4{index:03d}",
                    "cost_centre": f"CC{index + 10}",
                    "vat_code": VatCode.objects.filter(code="N0").first(),
                    "is_public": True,
                    "reference_rule": rule,
                },
            )
            fund_account(fund)


def _seed_import_config(council: Council) -> None:
    """A bank CSV column mapping for the sample file in income/demo_files/bank.csv, one
    import rule (Acme Ltd's bank credits are business rates, whatever their reference), and
    two export targets: a revenues system cash file and a general-ledger journal."""
    with schema_context(council.schema_name), transaction.atomic():
        CsvMapping.objects.get_or_create(
            name="Bank statement CSV (Date, Description, Paid in, Paid out, Reference)",
            defaults={
                "date_column": 1,
                "narrative_column": 2,
                "credit_column": 3,
                "debit_column": 4,
                "reference_column": 5,
                "channel": Channel.objects.filter(code="BANK").first(),
            },
        )
        ExportTarget.objects.get_or_create(
            name="Revenues and benefits cash file",
            defaults={
                "layout": "fixed",
                "amount_format": "pence",
                "date_format": "%Y%m%d",
                "fields": [
                    {"field": "fund_code", "width": 5, "align": "left", "pad": " "},
                    {"field": "reference", "width": 16, "align": "left", "pad": " "},
                    {"field": "received_on", "width": 8, "align": "left", "pad": " "},
                    {"field": "amount", "width": 11, "align": "right", "pad": "0"},
                    {"field": "receipt_number", "width": 12, "align": "left", "pad": " "},
                    {"field": "channel", "width": 10, "align": "left", "pad": " "},
                ],
            },
        )
        ExportTarget.objects.get_or_create(
            name="General ledger journal",
            defaults={"layout": "gl_journal", "control_ledger_code": "9100", "fields": []},
        )
        rates = Fund.objects.filter(code="NNDR").first()
        if rates is not None:
            ImportRule.objects.get_or_create(
                name="Acme Ltd pays business rates",
                defaults={
                    "position": 10,
                    "conditions": [
                        {"field": "payer_name", "operator": "contains", "value": "ACME"}
                    ],
                    "set_fund": rates,
                },
            )


# A month and a half of payments, the same on every run (their idempotency keys see to that).
DEMO_PAYMENTS = 90


def _seed_payments(council: Council, officer: User) -> None:
    """Counter, card and bank payments over recent weeks, some left in suspense, and one
    refund waiting for a manager's approval."""
    picker = random.Random(council.slug)
    today = timezone.localdate()
    with schema_context(council.schema_name), transaction.atomic():
        funds = list(Fund.objects.order_by("code"))
        channels = list(Channel.objects.filter(code__in=["CASH", "CHEQUE", "CARD", "BANK"]))
        for number in range(DEMO_PAYMENTS):
            fund = picker.choice(funds)
            pence = picker.choice([1250, 2500, 4999, 8000, 12050, 15833, 21000, 35000])
            in_suspense = number % 9 == 0
            recorded = record_receipt(
                channel=picker.choice(channels),
                amount_pence=pence,
                received_on=today - datetime.timedelta(days=picker.randint(0, 45)),
                allocations=[Allocation(None if in_suspense else fund, pence)],
                idempotency_key=f"demo:{council.slug}:{number}",
                acting_user=officer,
                payer_reference=demo_reference(fund, picker),
                payer_name=f"{picker.choice(DEMO_FIRST_NAMES)} {picker.choice(DEMO_LAST_NAMES)}",
                narrative="Unidentified bank credit" if in_suspense else "",
            )
            if number == 5 and recorded.created:
                raise_refund(
                    council=council,
                    receipt=recorded.receipt,
                    fund=fund,
                    amount_pence=pence // 2,
                    reason="Paid twice by the customer",
                    acting_user=officer,
                )


def demo_reference(fund: Fund, picker: random.Random) -> str:
    """A reference that fund's rule accepts: the mask filled in, then its check character."""
    rule = fund.reference_rule
    if rule is None:
        return f"{fund.code}{picker.randint(1000, 9999)}"
    spec = rule.spec()
    while True:
        body = "".join(
            str(picker.randint(0, 9)) if symbol in "#*" else symbol for symbol in spec.mask[:-1]
        )
        check = (
            expected_check_character(spec.check_digit, body)
            if spec.check_digit
            else str(picker.randint(0, 9))
        )
        if check is not None and rule.check_reference(body + check).valid:
            return body + check


DEMO_FIRST_NAMES = ["Olivia", "Noah", "Amelia", "George", "Priya", "Tomasz", "Siobhan", "Rhys"]
DEMO_LAST_NAMES = ["Smith", "Jones", "Patel", "Kowalski", "O'Brien", "Evans", "Khan", "Hughes"]


def _ensure_user(email: str, *, full_name: str, platform_role: str = "") -> User:
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            email=email, defaults={"full_name": full_name, "platform_role": platform_role}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, demo_totp_secret(email))
        RecoveryCodes.activate(user)
    return user
