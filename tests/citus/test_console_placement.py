"""The console shows which worker holds a council, and how much it takes there."""

from tenants.models import PlatformRole
from tenants.placement import council_placements
from tests.conftest import host_client, sign_in
from tests.factories import UserFactory


def test_the_council_page_shows_its_node_and_size(db, council_a):
    placement = council_placements()[council_a.schema_name]
    assert placement.size_bytes > 0
    operator = UserFactory(platform_role=PlatformRole.OPERATOR)
    page = sign_in(host_client(None), operator).get(f"/console/councils/{council_a.pk}/")
    assert page.status_code == 200
    assert f'Database node</dt><dd class="govuk-summary-list__value">{placement.node}' in (
        page.content.decode()
    )
