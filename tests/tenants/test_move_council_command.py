"""`counterfoil manage move_council` on plain PostgreSQL refuses, saying why; placement leaves
a new council where it is. (Moves on a cluster: tests/citus/test_council_moves.py.)"""

import pytest
from django.core.management import CommandError, call_command

from tenants.actions.council_moves import place_new_council
from tenants.placement import council_placements, worker_nodes

pytestmark = pytest.mark.django_db


def test_a_move_on_one_server_is_refused(council_a):
    with pytest.raises(CommandError, match="not a Citus cluster"):
        call_command("move_council", council_a.slug, "127.0.0.1:5433")


def test_an_unknown_council_is_refused():
    with pytest.raises(CommandError, match="No council has the subdomain 'nowhere'"):
        call_command("move_council", "nowhere", "127.0.0.1:5433")


def test_one_server_has_no_workers_and_nothing_to_place(council_a):
    assert worker_nodes() == [] and council_placements() == {}
    assert place_new_council(council_a, loads={}) is None
