"""Connecting a council's GOV.UK Pay services: keys, signing secrets, the connection test."""

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from income.govuk_pay.client import GovukPayError
from income.govuk_pay.connections import (
    client_for,
    forget_webhook_secrets,
    is_allowed_base_url,
)
from income.models import (
    Fund,
    GovukPayConnection,
)
from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_council_capability
from tenants.models import Council, User
from tenants.secrets_at_rest import encrypt, last_characters

logger = logging.getLogger(__name__)


ADDRESS_CHANGE_NEEDS_KEY = (
    "Changing GOV.UK Pay's address clears the saved API key: enter the key for the new address."
)
CONNECTION_TEST_FAILED = (
    "The connection test failed: GOV.UK Pay did not accept the key, or could not be reached. "
    "Check the API key and try again."
)


def save_connection(
    *,
    council: Council,
    acting_user: User,
    fund: Fund | None = None,
    api_key: str = "",
    webhook_secret: str = "",
    base_url: str = "",
    welsh_enabled: bool | None = None,
) -> GovukPayConnection:
    """Set a GOV.UK Pay service's API key and webhook signing secret (blank keeps what is
    there), stored encrypted; only their last characters are ever shown again."""
    require_council_capability(acting_user, council, Capability.MANAGE_INTEGRATIONS)
    with transaction.atomic():
        connection = GovukPayConnection.objects.select_for_update().filter(fund=fund).first()
        if connection is None:
            connection = GovukPayConnection(fund=fund)
        before = _connection_state(connection) if connection.pk else None
        address = base_url.strip().rstrip("/")
        if address and not is_allowed_base_url(address):
            raise ValidationError("Choose GOV.UK Pay's address from the list.")
        if address and address != connection.base_url:
            # The saved key belongs to the old address: it must never go to the new one, so
            # it is dropped and must be given again (in this same save).
            had_key = bool(connection.api_key_encrypted)
            connection.api_key_encrypted = ""
            connection.api_key_last_characters = ""
            connection.base_url = address
            if had_key and not api_key.strip():
                raise ValidationError(ADDRESS_CHANGE_NEEDS_KEY)
        if api_key.strip():
            connection.api_key_encrypted = encrypt(api_key.strip())
            connection.api_key_last_characters = last_characters(api_key.strip())
        if webhook_secret.strip():
            connection.webhook_secret_encrypted = encrypt(webhook_secret.strip())
            connection.webhook_secret_last_characters = last_characters(webhook_secret.strip())
        if welsh_enabled is not None:
            connection.welsh_enabled = welsh_enabled
        if not connection.api_key_encrypted:
            raise ValidationError("Enter the GOV.UK Pay API key.")
        connection.save()
        record_audit(
            "govuk_pay.connection_saved",
            acting_user=acting_user,
            target=connection,
            before=before,
            after=_connection_state(connection),
        )
    forget_webhook_secrets([db_connection.schema_name])
    return connection


def _connection_state(connection: GovukPayConnection) -> dict[str, Any]:
    # Never the secrets themselves: their last characters say which one was set.
    return {
        "fund": connection.fund.code if connection.fund else None,
        "base_url": connection.base_url,
        "api_key_ends": connection.api_key_last_characters,
        "webhook_secret_ends": connection.webhook_secret_last_characters,
        "welsh_enabled": connection.welsh_enabled,
    }


def check_connection(
    *, council: Council, connection: GovukPayConnection, acting_user: User
) -> tuple[bool, str]:
    """Ask GOV.UK Pay for one payment with the stored key: does it accept the key?"""
    require_council_capability(acting_user, council, Capability.MANAGE_INTEGRATIONS)
    try:
        with client_for(connection) as client:
            client.search_payments_page(display_size=1)
    except GovukPayError as error:
        # One message whatever went wrong: what the far side said (or that nothing answered,
        # or how quickly) is kept for the operators' log, not shown on the page.
        logger.warning(
            "GOV.UK Pay connection test failed for connection %s: %s (status %s)",
            connection.pk,
            type(error).__name__,
            error.status,
        )
        ok, result = False, CONNECTION_TEST_FAILED
    else:
        ok, result = True, "Connected: GOV.UK Pay accepted the key."
    GovukPayConnection.objects.filter(pk=connection.pk).update(
        last_tested_at=timezone.now(), last_test_result=result[:300]
    )
    record_audit(
        "govuk_pay.connection_tested", acting_user=acting_user, target=connection, after={"ok": ok}
    )
    return ok, result
