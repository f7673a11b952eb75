"""A council's life after it is opened: suspended (read-only) and reactivated; closing (its
data archived, every table as CSV) and closed (its schema dropped once its name is typed).

pending → active → suspended ⇄ active; active or suspended → closing → closed; closing →
active while the schema is still there. Each change has a reason and is audited in the public
schema (a platform action) and, while it exists, in the council's own (so its staff's history
shows it too). Nothing is deleted silently: the schema is dropped only after the archive
finished and an operator has typed the council's name.
"""

from datetime import date, timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.archiving import ArchiveFile
from tenants.audit.recording import record_audit, record_audit_in
from tenants.capabilities import Capability, require_platform_capability
from tenants.council_directory import council_directory
from tenants.council_task import send_on_commit
from tenants.file_store import FileArea, council_files
from tenants.models import ArchiveStatus, Council, CouncilArchive, CouncilStatus, User
from tenants.schema_names import validate_schema_name

ALLOWED = {
    "suspend": {CouncilStatus.ACTIVE},
    "reactivate": {CouncilStatus.SUSPENDED, CouncilStatus.CLOSING},
    "close": {CouncilStatus.ACTIVE, CouncilStatus.SUSPENDED},
    "drop": {CouncilStatus.CLOSING},
}
TO = {
    "suspend": CouncilStatus.SUSPENDED,
    "reactivate": CouncilStatus.ACTIVE,
    "close": CouncilStatus.CLOSING,
    "drop": CouncilStatus.CLOSED,
}
ACTION = {
    "suspend": "council.suspended",
    "reactivate": "council.reactivated",
    "close": "council.closing",
}
VERB = {
    "suspend": "suspended",
    "reactivate": "reactivated",
    "close": "closed",
    "drop": "closed for good",
}


def suspend_council(*, council: Council, reason: str, acting_user: User) -> Council:
    """Make the council read-only: its staff can look and archive, nothing changes."""
    return _change_status(council, "suspend", reason, acting_user)


def reactivate_council(*, council: Council, reason: str, acting_user: User) -> Council:
    """Undo a suspension (or a closing whose schema is still there): everything as before."""
    return _change_status(council, "reactivate", reason, acting_user)


def begin_closing(*, council: Council, reason: str, acting_user: User) -> CouncilArchive:
    """Close the council's hosts and archive its complete data (in the background)."""
    with transaction.atomic():
        council = _change_status(council, "close", reason, acting_user)
        archive = CouncilArchive.objects.create(council=council, requested_by=acting_user)
        record_audit("council.archive_requested", acting_user=acting_user, target=council)
        with schema_context(council.schema_name):
            send_on_commit("tenants.archive_council_data", archive.pk)
    return archive


def archive_again(*, council: Council, acting_user: User) -> CouncilArchive:
    """A closing council whose archive failed: try it again (the failure stays on record)."""
    require_platform_capability(acting_user, Capability.MANAGE_COUNCILS)
    with schema_context(get_public_schema_name()), transaction.atomic():
        current = Council.objects.select_for_update().get(pk=council.pk)
        if current.status != CouncilStatus.CLOSING:
            raise ValidationError(f"{current.name} is not closing: there is nothing to archive.")
        if current.archives.exclude(status=ArchiveStatus.FAILED).exists():
            raise ValidationError("An archive is already made or being made.")
        archive = CouncilArchive.objects.create(council=current, requested_by=acting_user)
        record_audit("council.archive_requested", acting_user=acting_user, target=current)
        with schema_context(current.schema_name):
            send_on_commit("tenants.archive_council_data", archive.pk)
    return archive


def drop_council_schema(*, council: Council, typed_name: str, acting_user: User) -> Council:
    """The end: drop the council's schema. Only once its archive is done, and only when the
    operator has typed the council's name exactly. The archive and every record stay."""
    require_platform_capability(acting_user, Capability.MANAGE_COUNCILS)
    if typed_name.strip() != council.name:
        raise ValidationError(
            f"Type the council’s name exactly as shown, {council.name}, to close it for good."  # noqa: RUF001
        )
    with schema_context(get_public_schema_name()), transaction.atomic():
        current = Council.objects.select_for_update().get(pk=council.pk)
        _check_allowed(current, "drop")
        archive = current.archives.filter(status=ArchiveStatus.DONE).first()
        if archive is None:
            raise ValidationError(
                "The council’s data has not been archived yet: wait for the archive to be made."  # noqa: RUF001
            )
        validate_schema_name(current.schema_name)
        with connection.cursor() as cursor:
            # Deferred foreign-key checks still pending in this transaction would block the
            # drop: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(current.schema_name)} CASCADE"
            )
        before = current.status
        current.status = CouncilStatus.CLOSED
        current.status_reason = f"Schema dropped; data kept in {archive.archive_path}"
        current.status_changed = timezone.now()
        current.save(update_fields=["status", "status_reason", "status_changed"])
        record_audit(
            "council.schema_dropped",
            acting_user=acting_user,
            target=current,
            before={"status": before, "schema": current.schema_name},
            after={
                "status": CouncilStatus.CLOSED,
                "archive": archive.archive_path,
                "archive_sha256": archive.archive_sha256,
                "retain_until": archive.retain_until.isoformat() if archive.retain_until else None,
            },
        )
    council_directory.forget()
    return current


def record_archive_done(archive: CouncilArchive, made: ArchiveFile) -> CouncilArchive:
    """Note a finished archive on its row (public schema) and in the audit log."""
    relative = made.key
    with schema_context(get_public_schema_name()), transaction.atomic():
        CouncilArchive.objects.filter(pk=archive.pk).update(
            status=ArchiveStatus.DONE,
            finished_at=timezone.now(),
            archive_path=str(relative),
            archive_sha256=made.sha256,
            archive_bytes=made.size,
            table_count=made.table_count,
            row_count=made.row_count,
            retain_until=timezone.localdate() + timedelta(days=settings.ARCHIVE_RETENTION_DAYS),
            error="",
        )
        archive.refresh_from_db()
        record_audit(
            "council.archived",
            acting_user=None,
            target=archive.council,
            after={
                "archive": str(relative),
                "sha256": made.sha256,
                "tables": made.table_count,
                "rows": made.row_count,
            },
        )
    return archive


def purge_expired_archives(*, today: date | None = None, acting_user: User | None) -> list[str]:
    """Delete the archives of closed councils whose retention period has passed, each with an
    audit record (and the archive row kept, marked purged). Returns the archives deleted.

    `acting_user` is None when the platform's scheduled housekeeping runs it.
    """
    today = today or timezone.localdate()
    purged = []
    with schema_context(get_public_schema_name()):
        expired = CouncilArchive.objects.select_related("council").filter(
            status=ArchiveStatus.DONE,
            council__status=CouncilStatus.CLOSED,
            retain_until__lt=today,
        )
        for archive in expired:
            with transaction.atomic():
                CouncilArchive.objects.filter(pk=archive.pk).update(status=ArchiveStatus.PURGED)
                record_audit(
                    "council.archive_purged",
                    acting_user=acting_user,
                    target=archive.council,
                    before={
                        "archive": archive.archive_path,
                        "sha256": archive.archive_sha256,
                        "retain_until": archive.retain_until.isoformat(),
                    },
                    reason="The retention period has passed.",
                )
                if archive.archive_path:
                    council_files(FileArea.ARCHIVES, archive.council.schema_name).delete(
                        PurePosixPath(archive.archive_path).name
                    )
            purged.append(archive.archive_path)
    return purged


def _check_allowed(council: Council, change: str) -> None:
    if council.status not in ALLOWED[change]:
        raise ValidationError(
            f"{council.name} is {council.get_status_display().lower()}: it cannot be "
            f"{VERB[change]} now."
        )


def _change_status(council: Council, change: str, reason: str, acting_user: User) -> Council:
    require_platform_capability(acting_user, Capability.MANAGE_COUNCILS)
    reason = reason.strip()
    if not reason:
        raise ValidationError("Enter the reason: it is kept in the audit log and shown to staff.")
    with schema_context(get_public_schema_name()), transaction.atomic():
        current = Council.objects.select_for_update().get(pk=council.pk)
        _check_allowed(current, change)
        if change == "reactivate" and not _schema_exists(current.schema_name):
            raise ValidationError(f"{current.name}’s schema is gone: it cannot be reactivated.")  # noqa: RUF001
        before = current.status
        current.status = TO[change]
        current.status_reason = reason
        current.status_changed = timezone.now()
        current.save(update_fields=["status", "status_reason", "status_changed"])
        audit = {
            "acting_user": acting_user,
            "target": current,
            "before": {"status": before},
            "after": {"status": current.status},
            "reason": reason,
        }
        record_audit(ACTION[change], **audit)
        record_audit_in(current.schema_name, ACTION[change], **audit)
    council_directory.forget()
    return current


def _schema_exists(schema_name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema_name])
        return cursor.fetchone() is not None
