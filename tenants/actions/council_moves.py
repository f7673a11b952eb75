"""Placing a new council on the least-loaded worker of a Citus cluster, and an operator moving
a council to another worker while it keeps working (tenants.placement)."""

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_platform_capability
from tenants.models import Council, User
from tenants.placement import (
    NEW_COUNCIL_TRANSFER_MODE,
    SHARD_TRANSFER_MODE,
    CouncilPlacement,
    PlacementRefused,
    WorkerNode,
    check_move,
    council_node,
    council_placements,
    least_loaded_worker,
    move_schema,
    on_citus,
    recent_worker_loads,
)

logger = logging.getLogger(__name__)


def move_council(
    *, council: Council, target: WorkerNode, acting_user: User | None
) -> CouncilPlacement:
    """Move the council's schema to `target` by logical replication (no downtime), and record
    where from and where to in the operators' audit log. PlacementRefused, saying why, for an
    unknown or inactive node, the node it is on already, or a database that is not Citus.
    `acting_user` None: an operator at the command line (`counterfoil manage move_council`)."""
    if acting_user is not None:
        require_platform_capability(acting_user, Capability.MANAGE_COUNCILS)
    with schema_context(get_public_schema_name()):
        before = check_move(council.schema_name, target)
        move_schema(council.schema_name, target)
        recent_worker_loads.forget()
        after = council_placements()[council.schema_name]
        record_audit(
            "council.moved",
            acting_user=acting_user,
            target=council,
            before={"node": str(before.node), "size_bytes": before.size_bytes},
            after={"node": str(after.node), "size_bytes": after.size_bytes},
        )
    return after


def place_new_council(
    council: Council, *, loads: dict[WorkerNode, int], in_use: bool = False
) -> WorkerNode | None:
    """Move a newly built council to the least-loaded worker when Citus put it on one that
    holds more than settings.COUNCIL_PLACEMENT_SLACK_BYTES beyond it; the worker it is on
    (None on plain PostgreSQL). `loads` are the workers' from before the council was built
    (recent_worker_loads), so its own few megabytes do not count against where it is.

    Inside a transaction (tests that roll back) the council stays where Citus put it, since a
    move commits as it goes. A failed move leaves the council whole where it was built, so
    provisioning carries on: it is logged instead. A council still being built is copied with
    its (absent) writes blocked, the quicker move; one that may be `in_use` (provisioning run
    again after it was ready) by replication."""
    with schema_context(get_public_schema_name()):
        if not on_citus():
            return None
        current = council_node(council.schema_name)
        if current is None:
            return None
        if current not in loads:
            return current
        best = least_loaded_worker(loads)
        nearly_even = loads[current] - loads[best] <= settings.COUNCIL_PLACEMENT_SLACK_BYTES
        if nearly_even or connection.in_atomic_block:
            return current
        try:
            mode = SHARD_TRANSFER_MODE if in_use else NEW_COUNCIL_TRANSFER_MODE
            move_schema(council.schema_name, best, transfer_mode=mode)
        except (DatabaseError, PlacementRefused):
            logger.exception("council %s stays on %s: placing it failed", council.slug, current)
            return current
        logger.info("council %s moved from %s to the least-loaded %s", council.slug, current, best)
        return best
