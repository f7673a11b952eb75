"""How many council applications one address may send: the form is open to anyone, and each
application lands on an operator's desk.

Counted from the audit log's own record of each submission (with its address), so the limit
holds across every process and host without a shared cache, and survives a restart.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from tenants.audit.models import AuditEvent
from tenants.request_context import current_origin

# (window, most applications from one address within it)
LIMITS = ((datetime.timedelta(hours=1), 3), (datetime.timedelta(days=1), 10))
# Any 32-bit number: with the address's hash, the advisory lock's two-part key.
LOCK_CLASS = 7_301_112

RATE_LIMITED_MESSAGE = (
    "Too many applications have been sent from your network recently. "
    "Try again tomorrow, or email the Counterfoil team."
)


def refuse_if_too_many_applications() -> None:
    """Call inside the transaction that records the submission: the lock it takes makes two
    submissions from one address at the same moment count one after the other."""
    address = current_origin().ip_address
    if address is None:  # not a web request (the CLI, a test calling the action)
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_CLASS, address])
    now = timezone.now()
    sent = AuditEvent.objects.filter(action="application.submitted", ip_address=address)
    for window, most in LIMITS:
        if sent.filter(occurred_at__gte=now - window).count() >= most:
            raise ValidationError(RATE_LIMITED_MESSAGE, code="rate_limited")
