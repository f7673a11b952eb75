"""The time of each sign-in, recorded as Django records it (the user's last_login), except that
the sign-in goes ahead when the time cannot be written.

On a Citus cluster the users table is a reference table, copied to every worker (council
tables point at it), so writing it needs every worker to answer: with Django's own receiver,
one worker being down stopped staff of every council from signing in, not only those of the
councils on that worker. The time is then left as it was, and logged.
"""

import logging
from typing import Any

from django.contrib.auth.models import update_last_login
from django.db import DatabaseError, connection, transaction

from tenants.citus import is_citus
from tenants.unreachable_nodes import unreachable_node

logger = logging.getLogger(__name__)
# A node that accepts no connection fails at once; one that hangs would hold the sign-in for
# Citus's default 30 s.
NODE_ANSWER_TIMEOUT_MS = 2000


def record_last_login(sender: Any, user: Any, **kwargs: Any) -> None:
    """Replaces django.contrib.auth's update_last_login as the user_logged_in receiver."""
    outermost = not connection.in_atomic_block
    try:
        with transaction.atomic():
            if outermost and is_citus(connection):
                # SET LOCAL lasts to the end of the transaction: here, only when it is ours.
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SET LOCAL citus.node_connection_timeout = {NODE_ANSWER_TIMEOUT_MS}"
                    )
            update_last_login(sender, user, **kwargs)
    except DatabaseError as error:
        node = unreachable_node(error)
        if node is None:
            raise
        logger.warning(
            "user %s signed in without the time being recorded: database node %s did not answer",
            user.pk,
            node,
        )
