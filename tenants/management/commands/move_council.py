"""Move a council to another worker node of a Citus cluster while it keeps working:
counterfoil manage move_council <slug> <host:port>"""

from django.core.management.base import BaseCommand, CommandError

from tenants.actions.council_moves import move_council
from tenants.models import Council
from tenants.placement import PlacementRefused, WorkerNode


class Command(BaseCommand):
    help = "Move a council's schema to another Citus worker node (logical replication)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("node", help="the worker to move it to, as host:port")

    def handle(self, *args: object, slug: str, node: str, **options: object) -> None:
        council = Council.objects.filter(slug=slug).first()
        if council is None:
            raise CommandError(f"No council has the subdomain {slug!r}.")
        try:
            moved = move_council(council=council, target=WorkerNode.parse(node), acting_user=None)
        except PlacementRefused as refusal:
            raise CommandError(f"{council.name} was not moved: {refusal}.") from refusal
        self.stdout.write(f"{council.name} is on {moved.node} ({moved.size_bytes} bytes)")
