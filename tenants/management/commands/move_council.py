"""Move a council to another Citus worker, while it keeps working:
counterfoil manage move_council <slug> [--to host:port]"""

from django.core.management.base import BaseCommand, CommandError

from tenants.actions.placement import move_council
from tenants.models import Council
from tenants.placement import Node, NotOnACluster


class Command(BaseCommand):
    help = "Move a council's schema to another worker node (the least loaded unless --to)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--to", help="the target worker as host:port")

    def handle(self, *args: object, slug: str, to: str | None, **options: object) -> None:
        council = Council.objects.filter(slug=slug).first()
        if council is None:
            raise CommandError(f"No council has the subdomain {slug!r}.")
        target = None
        if to:
            host, _, port = to.rpartition(":")
            if not host or not port.isdigit():
                raise CommandError(f"--to takes host:port, not {to!r}.")
            target = Node(host, int(port))
        try:
            moved = move_council(council=council, target=target, acting_user=None)
        except NotOnACluster as refusal:
            raise CommandError(f"Cannot move {council.name}: {refusal}.") from refusal
        self.stdout.write(f"{council.name} is on {moved.node} ({moved.size_bytes} bytes)")
