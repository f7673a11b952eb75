"""The councils a person works for, as links to each council's own host.

Session cookies are host-only, so "switching" council is following a link to the other host
(and signing in there): nothing is carried across.
"""

from dataclasses import dataclass

from tenants.models import Council, Membership, User
from tenants.models.council import SERVED_STATUSES


@dataclass(frozen=True)
class CouncilLink:
    council: Council
    role: str
    url: str


def councils_of(user: User, *, port: str) -> list[CouncilLink]:
    """`user`'s councils whose hosts answer, each with a link to its primary host.

    `port` is the port of the current request: the demo serves every host on one port.
    """
    suffix = "" if port in ("", "80", "443") else f":{port}"
    memberships = (
        Membership.objects.filter(user=user, council__status__in=SERVED_STATUSES)
        .select_related("council")
        .prefetch_related("council__domains")
        .order_by("council__name")
    )
    links = []
    for membership in memberships:
        primary = next((d for d in membership.council.domains.all() if d.is_primary), None)
        if primary is not None:
            links.append(
                CouncilLink(
                    membership.council,
                    membership.get_role_display(),
                    f"//{primary.domain}{suffix}/",
                )
            )
    return links
