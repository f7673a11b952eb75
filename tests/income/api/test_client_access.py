"""Who may call: a live client of this council with the scope the path needs. Expired,
revoked, retired (after rotation) and wrong-scope clients are refused with a clear 403, a
token of another council is unknown here (404), no token is 401, and a client over its rate
limit gets 429 with Retry-After."""

import datetime

from django.db import connection
from django.utils import timezone

from income.actions.api_clients import revoke_api_client, rotate_api_client_secret
from income.models import ApiClient, ApiClientSecret
from tenants.models import CouncilRole, Membership
from tests.income.api.conftest import api_client


def test_no_token_is_401_with_a_bearer_challenge(ledger):
    response = api_client(ledger, None).get("/api/v1/funds")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="counterfoil"'
    assert response.json()["detail"] == (
        "Send the client's token in an Authorization header: `Bearer cfk_…`."
    )


def test_a_wrong_secret_answers_as_an_unknown_token(ledger, make_api_client):
    _client, token = make_api_client()
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for bad in (wrong, "cfk_000000000000_nothing", "not-a-token"):
        response = api_client(ledger, bad).get("/api/v1/funds")
        assert response.status_code == 404
        assert response.json()["detail"] == "No API client of this council has that token."


def test_only_the_secrets_digest_is_kept(make_api_client):
    client, token = make_api_client()
    secret = token.split("_", 2)[2]
    stored = ApiClientSecret.objects.get(client=client)
    assert secret not in stored.secret_sha256 and len(stored.secret_sha256) == 64
    assert stored.matches(secret) and not stored.matches(secret + "x")


def test_an_expired_client_is_refused(ledger, make_api_client):
    client, token = make_api_client(name="Old system")
    ApiClient.objects.filter(pk=client.pk).update(
        expires_at=timezone.make_aware(datetime.datetime(2026, 1, 31, 12))
    )
    response = api_client(ledger, token).get("/api/v1/funds")
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "This API client (Old system) expired on 31 January 2026: ask a council admin for a "
        "new one."
    )


def test_a_revoked_client_is_refused_and_loses_its_membership(ledger, admin, make_api_client):
    client, token = make_api_client(name="Housing")
    assert api_client(ledger, token).get("/api/v1/funds").status_code == 200
    revoke_api_client(council=ledger, client=client, acting_user=admin)
    response = api_client(ledger, token).get("/api/v1/funds")
    assert response.status_code == 403
    assert response.json()["detail"] == "This API client (Housing) has been revoked."
    assert not Membership.objects.filter(user=client.service_user).exists()


def test_a_rotated_secret_works_for_the_overlap_then_stops(ledger, admin, make_api_client):
    client, old = make_api_client(name="Ledger")
    new = rotate_api_client_secret(
        council=ledger, client=client, overlap=datetime.timedelta(hours=24), acting_user=admin
    ).token
    assert new != old
    assert api_client(ledger, old).get("/api/v1/funds").status_code == 200
    assert api_client(ledger, new).get("/api/v1/funds").status_code == 200
    # The overlap runs out.
    ApiClientSecret.objects.filter(client=client, retires_at__isnull=False).update(
        retires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = api_client(ledger, old).get("/api/v1/funds")
    assert response.status_code == 403
    assert response.json()["detail"].startswith("This secret of Ledger was replaced and stopped")
    assert api_client(ledger, new).get("/api/v1/funds").status_code == 200


def test_a_client_without_the_scope_is_refused_with_the_scope_named(ledger, make_api_client):
    _client, token = make_api_client(scopes=["receipts:read"], name="Reader")
    api = api_client(ledger, token)
    assert api.get("/api/v1/receipts").status_code == 200
    for path, scope in [
        ("/api/v1/imports", "imports"),
        ("/api/v1/exports", "exports"),
        ("/api/v1/suspense", "suspense"),
        ("/api/v1/refunds/1", "refunds"),
    ]:
        response = api.get(path)
        assert response.status_code == 403, path
        assert response.json()["detail"] == (
            f"Reader does not have the {scope} scope this needs: a council admin can give it "
            "on the API clients page."
        )


def test_over_the_rate_limit_is_429_with_retry_after(ledger, make_api_client):
    client, token = make_api_client(rate_limit_per_minute=3, name="Busy")
    api = api_client(ledger, token)
    assert [api.get("/api/v1/funds").status_code for _ in range(3)] == [200, 200, 200]
    refused = api.get("/api/v1/funds")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"] == (
        f"Busy may make 3 requests a minute: try again in {refused['Retry-After']} seconds."
    )
    client.refresh_from_db()
    assert (client.calls_total, client.refused_total) == (4, 1)
    assert client.last_used_at is not None
    # The window passes: the client is served again.
    ApiClient.objects.filter(pk=client.pk).update(
        window_started_at=timezone.now() - datetime.timedelta(hours=1)
    )
    assert api.get("/api/v1/funds").status_code == 200


def test_a_client_of_another_council_is_unknown_here(ledger, council_b, council_b_client):
    """Council B's token on council A's host, and A's on B's: 404, as for a missing page."""
    connection.set_schema_to_public()
    on_a = api_client(ledger, council_b_client).get("/api/v1/receipts")
    assert on_a.status_code == 404
    assert on_a.json()["detail"] == "No API client of this council has that token."
    assert api_client(council_b, council_b_client).get("/api/v1/receipts").status_code == 200


def test_the_service_identity_cannot_sign_in(make_api_client):
    client, _token = make_api_client()
    user = client.service_user
    assert not user.is_active and not user.has_usable_password()
    assert user.full_name == "API client: Revenues system"
    assert Membership.objects.get(user=user).role == CouncilRole.INCOME_OFFICER
