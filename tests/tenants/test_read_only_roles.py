"""An auditor changes nothing, through any page of a council's host or by posting to it
directly; a deactivated account's old session opens nothing."""

import pytest
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver

from tenants.models import CouncilRole
from tests.conftest import host_client, make_member, sign_in

pytestmark = pytest.mark.django_db


def council_paths() -> list[str]:
    """Every URL of a council's host, with placeholder arguments (ids of nothing in particular,
    a configuration area's slug)."""

    def walk(patterns: list, prefix: str) -> list[str]:
        paths = []
        for pattern in patterns:
            route = str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                paths += walk(pattern.url_patterns, prefix + route)
            elif isinstance(pattern, URLPattern):
                path = prefix + route
                path = path.replace("<int:pk>", "1").replace("<int:domain_pk>", "1")
                path = path.replace("<slug:slug>", "funds").replace("<str:number>", "R1")
                path = path.replace("<str:token>", "not-a-token")
                if "<" not in path and "^" not in path:
                    paths.append("/" + path)
        return paths

    return walk(get_resolver("counterfoil.urls_council").url_patterns, "")


def row_counts(schema: str) -> dict[str, int]:
    """Rows in every table of the council's schema and of the public tables a council's host
    could change (sessions excepted: signing in writes one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = %s"
            " OR (schemaname = 'public' AND tablename <> 'django_session')",
            [schema],
        )
        counts = {}
        for schema_name, table in cursor.fetchall():
            cursor.execute(f'SELECT count(*) FROM "{schema_name}"."{table}"')  # noqa: S608
            counts[f"{schema_name}.{table}"] = cursor.fetchone()[0]
    return counts


def test_an_auditor_posting_to_every_page_of_the_council_changes_nothing(council_a):
    auditor = make_member(council_a, CouncilRole.AUDITOR)
    colleague = make_member(council_a, CouncilRole.INCOME_OFFICER)
    client = sign_in(host_client(council_a), auditor)
    paths = council_paths()
    assert "/team/invite/" in paths and "/receipts/new/" in paths and "/team/domains/add/" in paths
    form = {
        "email": "someone@example.org", "role": CouncilRole.ADMIN, "hostname": "pay.x.gov.uk",
        "amount": "10.00", "reason": "x", "name": "x", "code": "X1",
    }  # fmt: skip
    before = row_counts(council_a.schema_name)

    answers = {}
    for path in paths:
        # The payment portal is the public's, not staff's: anyone may fill a basket there
        # (tests/income/govuk_pay/ holds it).
        if path.startswith(("/accounts/", "/health/", "/pay/")):
            continue
        response = client.post(path, form)
        answers[path] = response.status_code
        # Pages that only show things may answer a post as a get; the row counts below are
        # what proves nothing changed. 401: the GOV.UK Pay webhook refuses an unsigned post.
        assert response.status_code in (200, 400, 401, 403, 404, 405), (path, response.status_code)
    # Also a member's own role and removal, addressed by the real ids.
    membership = colleague.memberships.get()
    for path in (f"/team/members/{membership.pk}/role/", f"/team/members/{membership.pk}/remove/"):
        assert client.post(path, {"role": CouncilRole.ADMIN}).status_code == 403, path

    connection.set_schema_to_public()
    assert row_counts(council_a.schema_name) == before
    for path in ("/team/invite/", "/team/domains/add/", "/receipts/new/", "/config/funds/new/",
                 "/cash-ups/new/", "/team/members/1/role/"):  # fmt: skip
        assert answers[path] == 403, (path, answers[path])


def test_a_deactivated_members_old_session_opens_nothing(council_a):
    member = make_member(council_a, CouncilRole.ADMIN)
    client = sign_in(host_client(council_a), member)
    assert client.get("/team/").status_code == 200

    member.is_active = False
    member.save(update_fields=["is_active"])

    response = client.get("/team/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert (
        client.post("/team/invite/", {"email": "x@example.org", "role": "admin"}).status_code == 302
    )
