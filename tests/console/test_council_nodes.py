"""The console's Database nodes page on plain PostgreSQL: every council on the single server,
no move offered, and a move refused clearly. (On a cluster: tests/citus/test_council_moves.py.)"""

import pytest

from tenants.audit.models import AuditEvent
from tenants.models import CouncilRole, PlatformRole
from tests.conftest import host_client, make_member, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return UserFactory(platform_role=PlatformRole.OPERATOR)


def test_on_one_server_every_council_is_on_the_single_server(council_a, council_b, operator):
    page = sign_in(host_client(None), operator).get("/console/nodes/").content.decode()
    assert "runs on a single server" in page
    assert council_a.name in page and council_b.name in page
    assert page.count("single server</td>") >= 2
    assert "/move/" not in page


def test_a_move_on_one_server_is_refused_saying_why(council_a, operator):
    client = sign_in(host_client(None), operator)
    answer = client.post(
        f"/console/nodes/{council_a.pk}/move/", {f"move-{council_a.pk}-node": "127.0.0.1:5433"}
    )
    assert answer.status_code == 409
    assert "was not moved: the database is a single PostgreSQL server" in answer.content.decode()
    assert not AuditEvent.objects.filter(action="council.moved").exists()


def test_support_staff_see_the_nodes_but_cannot_move_a_council(council_a):
    support = sign_in(host_client(None), UserFactory(platform_role=PlatformRole.SUPPORT))
    assert support.get("/console/nodes/").status_code == 200
    answer = support.post(
        f"/console/nodes/{council_a.pk}/move/", {f"move-{council_a.pk}-node": "127.0.0.1:5433"}
    )
    assert answer.status_code == 403


def test_council_staff_never_see_the_nodes(council_a):
    admin = sign_in(host_client(None), make_member(council_a, CouncilRole.ADMIN))
    assert admin.get("/console/nodes/").status_code in (302, 403, 404)


def test_the_page_says_how_many_spare_schemas_are_ready(council_a, operator):
    from tenants.schema_snapshot import current_snapshot
    from tenants.spare_schemas import build_spare

    client = sign_in(host_client(None), operator)
    assert "None ready: the next council" in client.get("/console/nodes/").content.decode()

    spare = build_spare(current_snapshot())

    page = client.get("/console/nodes/").content.decode()
    assert "1 ready." in page
    assert spare not in page  # an internal name, not a council
