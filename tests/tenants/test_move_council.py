"""`counterfoil manage move_council` on one PostgreSQL server: nothing to move, said plainly
(tests/citus/test_moving_councils.py moves a council on the cluster)."""

import pytest
from django.core.management import CommandError, call_command

from tests.citus_suite import skip_on_citus

pytestmark = [pytest.mark.django_db, skip_on_citus("a cluster has nodes to move between")]


def test_moving_a_council_on_one_server_is_refused_with_the_reason(council_a):
    with pytest.raises(CommandError, match="single PostgreSQL server"):
        call_command("move_council", council_a.slug)


def test_moving_an_unknown_council_is_refused():
    with pytest.raises(CommandError, match="No council has the subdomain 'nowhere'"):
        call_command("move_council", "nowhere")
