"""Moving a council to another worker node of a Citus cluster (tenants.placement)."""

from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.audit.recording import record_audit
from tenants.capabilities import Capability, require_platform_capability
from tenants.citus import is_citus
from tenants.models import Council, User
from tenants.placement import Node, NotOnACluster, Placement, least_loaded_worker, move_schema
from tenants.placement import placements as current_placements


def move_council(*, council: Council, target: Node | None, acting_user: User | None) -> Placement:
    """Move the council's schema to `target` (the least-loaded other worker when None) while
    it keeps taking payments; the operators' audit log records where from and where to.
    `acting_user` None: an operator at the command line."""
    if acting_user is not None:
        require_platform_capability(acting_user, Capability.MANAGE_COUNCILS)
    if not is_citus(connection):
        raise NotOnACluster("the database is a single PostgreSQL server")
    if connection.in_atomic_block:
        raise NotOnACluster("a move cannot run inside a transaction")
    with schema_context(get_public_schema_name()):
        before = current_placements().get(council.schema_name)
        if before is None:
            raise NotOnACluster(f"{council.schema_name} is not a distributed schema")
        destination = target or least_loaded_worker(other_than=before.node)
        move_schema(council.schema_name, destination)
        after = current_placements()[council.schema_name]
        record_audit(
            "council.moved",
            acting_user=acting_user,
            target=council,
            before={"node": str(before.node)},
            after={"node": str(after.node)},
        )
    return after
