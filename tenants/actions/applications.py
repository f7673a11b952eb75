"""A council joins: it applies, an operator approves (or declines), and approval provisions it
and invites its named contact as the first admin.

Approval is one idempotent action. It takes a PostgreSQL advisory lock on the application for
its whole run, so two operators pressing Approve at once (or a retry racing a slow first try)
run it one after the other; each step checks what is already done, so the second finds the
council built and the contact invited, and changes nothing. A crash halfway leaves the
application approved and the council at its last recorded provisioning step: approving again
finishes the job.
"""

import re

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.actions.councils import council_host, create_council
from tenants.actions.invitations import invite_to_council
from tenants.application_rate_limit import refuse_if_too_many_applications
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_platform_capability
from tenants.council_directory import council_directory
from tenants.models import (
    ApplicationStatus,
    Council,
    CouncilApplication,
    CouncilRole,
    CouncilStatus,
    Domain,
    Invitation,
    Membership,
    User,
)
from tenants.placement import PlacementRefused, refuse_unless_every_worker_answers
from tenants.schema_names import schema_name_for_slug, validate_slug
from tenants.schema_snapshot import current_snapshot
from tenants.subdomain_lookalikes import lookalike_of

# ONS/GSS codes of local authorities: a country letter (England, Wales, Scotland, Northern
# Ireland) and eight digits, e.g. E08000016 (Barnsley). ASCII digits only.
GSS_CODE_PATTERN = re.compile(r"^[EWSN][0-9]{8}$")
GSS_CODE_MESSAGE = (
    "Enter the ONS code in the right format: a capital E, W, S or N followed by 8 digits, "
    "like E08000016"
)

# Any 32-bit number: with the application's id, the advisory lock's two-part key.
APPROVAL_LOCK_CLASS = 7_301_111


def validate_gss_code(gss_code: str) -> None:
    if not isinstance(gss_code, str) or not GSS_CODE_PATTERN.fullmatch(gss_code):
        raise ValidationError(GSS_CODE_MESSAGE, code="invalid_gss_code")
    # A pending application reserves nothing (anyone can send one): the code is taken only
    # by a council, or by an application an operator has approved.
    if Council.objects.filter(gss_code=gss_code).exists():
        raise ValidationError(
            f"A council with the ONS code {gss_code} is already on Counterfoil.", code="taken"
        )
    if CouncilApplication.objects.filter(
        gss_code=gss_code, status=ApplicationStatus.APPROVED
    ).exists():
        raise ValidationError(
            f"A council with the ONS code {gss_code} has already been approved.", code="taken"
        )


def validate_requested_slug(slug: str) -> None:
    validate_slug(slug)
    taken = (
        Council.objects.filter(slug=slug).exists()
        or Domain.objects.filter(domain=council_host(slug)).exists()
        or CouncilApplication.objects.filter(
            requested_slug=slug, status=ApplicationStatus.APPROVED
        ).exists()
    )
    if taken:
        raise ValidationError(
            f"The subdomain “{slug}” is already taken. Choose another.", code="taken"
        )
    others = Council.objects.values_list("slug", flat=True).union(
        CouncilApplication.objects.exclude(status=ApplicationStatus.DECLINED).values_list(
            "requested_slug", flat=True
        )
    )
    lookalike = lookalike_of(slug, others)
    if lookalike:
        raise ValidationError(
            f"The subdomain “{slug}” looks too like “{lookalike}”, which another council "
            "uses. Choose one that cannot be mistaken for it.",
            code="lookalike",
        )


def submit_application(
    *,
    council_name: str,
    gss_code: str,
    requested_slug: str,
    contact_name: str,
    contact_email: str,
    acting_user: User | None,
) -> CouncilApplication:
    """A council asks to join. It waits as pending until an operator decides.

    `acting_user` is whoever is signed in on the platform's host, usually nobody.
    """
    errors: dict[str, list[ValidationError]] = {}
    for field, check, value in (
        ("gss_code", validate_gss_code, gss_code),
        ("requested_slug", validate_requested_slug, requested_slug),
    ):
        try:
            check(value)
        except ValidationError as error:
            errors[field] = [error]
    if not council_name.strip():
        errors["council_name"] = [ValidationError("Enter the name of the council")]
    if errors:
        raise ValidationError(errors)
    application = CouncilApplication(
        council_name=council_name.strip(),
        gss_code=gss_code,
        requested_slug=requested_slug,
        contact_name=contact_name.strip(),
        contact_email=contact_email.strip().lower(),
    )
    application.full_clean(exclude=["council", "decided_by"])
    try:
        with schema_context(get_public_schema_name()), transaction.atomic():
            refuse_if_too_many_applications()
            application.save()
            record_audit(
                "application.submitted",
                acting_user=acting_user,
                target=application,
                after=_application_summary(application),
            )
    except ValidationError as limited:
        raise ValidationError({NON_FIELD_ERRORS: [limited]}) from limited
    return application


def approve_application(*, application: CouncilApplication, acting_user: User) -> Council:
    """Approve: build the council (schema, host name, defaults), invite its contact as the first
    admin, and open it. Safe to repeat, and to race: approving again returns the same council."""
    require_platform_capability(acting_user, Capability.REVIEW_APPLICATIONS)
    try:  # before the council's row is made: a refusal leaves the application as it was
        refuse_unless_every_worker_answers()
    except PlacementRefused as refused:
        raise ValidationError(str(refused)) from refused
    # Built (once per release) before the lock: building it runs migrations, and django-tenants
    # closes the connection after them, which would let go of a session-level lock.
    current_snapshot()
    with schema_context(get_public_schema_name()), _approval_lock(application.pk):
        with transaction.atomic():
            current = CouncilApplication.objects.select_for_update().get(pk=application.pk)
            if current.status == ApplicationStatus.DECLINED:
                raise ValidationError("This application was declined: it cannot be approved.")
            _refuse_if_taken_since(current)
            if current.status == ApplicationStatus.PENDING:
                current.status = ApplicationStatus.APPROVED
                current.decided_at = timezone.now()
                current.decided_by = acting_user
                current.save(update_fields=["status", "decided_at", "decided_by"])
                record_audit(
                    "application.approved",
                    acting_user=acting_user,
                    target=current,
                    before={"status": ApplicationStatus.PENDING},
                    after={"status": ApplicationStatus.APPROVED},
                )
            if current.council_id is None:
                # The council's row is made and linked in the same transaction as the
                # approval, so a retry after a crash knows it is this application's.
                current.council = Council.objects.create(
                    name=current.council_name,
                    slug=current.requested_slug,
                    schema_name=schema_name_for_slug(current.requested_slug),
                    gss_code=current.gss_code,
                    status=CouncilStatus.PENDING,
                    status_changed=timezone.now(),
                )
                current.save(update_fields=["council"])
        # Each step below is idempotent and takes its own row lock, so even without the
        # advisory lock (lost if a fallback to migrations closes the connection) two
        # approvals end with one council, one invitation and one audit record of opening it.
        council = create_council(
            name=current.council_name,
            slug=current.requested_slug,
            gss_code=current.gss_code,
            status=CouncilStatus.PENDING,
            acting_user=acting_user,
        )
        with transaction.atomic():
            locked = CouncilApplication.objects.select_for_update().get(pk=current.pk)
            _invite_contact(locked, council)
        with transaction.atomic():
            council = Council.objects.select_for_update().get(pk=council.pk)
            if council.status == CouncilStatus.PENDING:
                council.status = CouncilStatus.ACTIVE
                council.status_changed = timezone.now()
                council.save(update_fields=["status", "status_changed"])
                record_audit(
                    "council.provisioned",
                    acting_user=acting_user,
                    target=council,
                    before={"status": CouncilStatus.PENDING},
                    after={
                        "status": CouncilStatus.ACTIVE,
                        "schema": council.schema_name,
                        "host": council_host(council.slug),
                        "first_admin": current.contact_email,
                    },
                )
        council_directory.forget()
    return council


def decline_application(
    *, application: CouncilApplication, reason: str, acting_user: User
) -> CouncilApplication:
    require_platform_capability(acting_user, Capability.REVIEW_APPLICATIONS)
    reason = reason.strip()
    if not reason:
        raise ValidationError("Enter the reason for declining: the council will be told it.")
    with schema_context(get_public_schema_name()), transaction.atomic():
        current = CouncilApplication.objects.select_for_update().get(pk=application.pk)
        if current.status != ApplicationStatus.PENDING:
            raise ValidationError(
                f"This application has already been {current.get_status_display().lower()}."
            )
        current.status = ApplicationStatus.DECLINED
        current.decided_at = timezone.now()
        current.decided_by = acting_user
        current.decision_reason = reason
        current.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
        record_audit(
            "application.declined",
            acting_user=acting_user,
            target=current,
            before={"status": ApplicationStatus.PENDING},
            after={"status": ApplicationStatus.DECLINED},
            reason=reason,
        )
        transaction.on_commit(lambda: _send_declined_email(current))
    return current


def _send_declined_email(application: CouncilApplication) -> None:
    context = {"application": application}
    message = EmailMultiAlternatives(
        subject=f"Your application to bring {application.council_name} to Counterfoil",
        body=render_to_string("tenants/email/application_declined.txt", context),
        to=[application.contact_email],
    )
    message.attach_alternative(
        render_to_string("tenants/email/application_declined.html", context), "text/html"
    )
    message.send()


def _refuse_if_taken_since(application: CouncilApplication) -> None:
    """The subdomain or ONS code was free when the council applied; refuse to approve if another
    council has taken either since (never hand one council's schema to another's contact).
    Pending applications reserve nothing, so two may ask for the same: the first approved
    takes it."""
    for field, value, what in (
        ("slug", application.requested_slug, f"The subdomain “{application.requested_slug}”"),
        ("gss_code", application.gss_code, f"The ONS code {application.gss_code}"),
    ):
        other = Council.objects.filter(**{field: value}).exclude(pk=application.council_id).first()
        if other is None:
            application_field = "requested_slug" if field == "slug" else field
            approved = (
                CouncilApplication.objects.filter(
                    status=ApplicationStatus.APPROVED, **{application_field: value}
                )
                .exclude(pk=application.pk)
                .first()
            )
            other = approved and Council(name=approved.council_name)
        if other:
            raise ValidationError(
                f"{what} has been taken by {other.name} since this application was sent: "
                "decline it, giving the reason."
            )


def _invite_contact(application: CouncilApplication, council: Council) -> None:
    """Invite the contact as admin, unless they already are one or an invitation stands."""
    email = application.contact_email
    already = (
        Membership.objects.filter(council=council, user__email__iexact=email).exists()
        or Invitation.objects.filter(council=council, email__iexact=email, revoked_at=None).exists()
    )
    if not already:
        # The platform invites (no council member exists yet to do it); the operator who
        # approved is named in the platform's audit record of the approval.
        invite_to_council(council=council, email=email, role=CouncilRole.ADMIN, acting_user=None)


def _application_summary(application: CouncilApplication) -> dict[str, str]:
    return {
        "council_name": application.council_name,
        "gss_code": application.gss_code,
        "requested_slug": application.requested_slug,
        "contact_name": application.contact_name,
        "contact_email": application.contact_email,
    }


class _approval_lock:
    """A session-level advisory lock on one application, held while it is approved.

    Session-level, not transaction-level: approval spans several transactions (the schema is
    built outside any). PostgreSQL releases it if the process dies.
    """

    def __init__(self, application_id: int) -> None:
        self.application_id = application_id

    def __enter__(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_lock(%s::integer, %s::integer)",
                [APPROVAL_LOCK_CLASS, self.application_id],
            )

    def __exit__(self, *exc_info: object) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_unlock(%s::integer, %s::integer)",
                [APPROVAL_LOCK_CLASS, self.application_id],
            )
