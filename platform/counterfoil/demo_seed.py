"""Two fictional councils with funds and a staff login each, seeded idempotently for the demo."""

from dataclasses import dataclass

from django.db import transaction
from django_tenants.utils import schema_context

from income.models import Fund
from tenants.actions.councils import create_council
from tenants.models import Council, CouncilRole, Membership, User

# Printed by `counterfoil demo` for the fictional councils' staff; never used outside the demo.
DEMO_PASSWORD = "counterfoil-demo-2026"  # noqa: S105


@dataclass(frozen=True)
class DemoCouncil:
    name: str
    slug: str
    staff_email: str
    funds: tuple[tuple[str, str], ...]


DEMO_COUNCILS = (
    DemoCouncil(
        name="Northbrook Borough Council",
        slug="northbrook",
        staff_email="finance@northbrook.example",
        funds=(
            ("CTAX", "Council Tax"),
            ("NNDR", "Business Rates"),
            ("HRENT", "Housing Rents"),
            ("PARK", "Parking Fines"),
            ("LIB", "Library Charges"),
        ),
    ),
    DemoCouncil(
        name="Eastmere District Council",
        slug="eastmere",
        staff_email="finance@eastmere.example",
        funds=(
            ("CTAX", "Council Tax"),
            ("NNDR", "Business Rates"),
            ("TRADE", "Trade Waste"),
            ("PARK", "Penalty Charge Notices"),
        ),
    ),
)

OPERATOR_EMAIL = "operator@counterfoil.example"


def seed_demo() -> list[tuple[Council, User]]:
    """Create the demo councils, their funds and staff. Running it again changes nothing."""
    seeded = []
    _ensure_user(OPERATOR_EMAIL, full_name="Platform Operator", is_staff=True)
    for demo in DEMO_COUNCILS:
        council = create_council(name=demo.name, slug=demo.slug, acting_user=None)
        staff = _ensure_user(demo.staff_email, full_name=f"{demo.name} finance officer")
        Membership.objects.get_or_create(
            user=staff, council=council, defaults={"role": CouncilRole.ADMIN}
        )
        with schema_context(council.schema_name), transaction.atomic():
            for code, name in demo.funds:
                Fund.objects.get_or_create(code=code, defaults={"name": name})
        seeded.append((council, staff))
    return seeded


def _ensure_user(email: str, *, full_name: str, is_staff: bool = False) -> User:
    from allauth.account.models import EmailAddress

    user, created = User.objects.get_or_create(
        email=email, defaults={"full_name": full_name, "is_staff": is_staff}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user
