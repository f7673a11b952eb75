"""Council B's client sees nothing of council A through any list or any id, and A's token is
unknown on B's host."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from income.actions.exports import run_export
from income.exports.layout import parse_fields
from income.models import ExportTarget
from tests.income.api.conftest import api_client
from tests.income.api.helpers import post_json, split_payment

LISTS = [
    "/api/v1/receipts",
    "/api/v1/imports",
    "/api/v1/exports",
    "/api/v1/suspense",
    "/api/v1/funds",
    "/api/v1/reference-rules",
]


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_council_b_sees_nothing_of_council_a(
    api, ledger, admin, funds, council_b, council_b_client
):
    number = post_json(api, "/api/v1/receipts", split_payment()).json()["number"]
    post_json(
        api, "/api/v1/receipts",
        split_payment(amount_pence=500, allocations=[{"fund": None, "amount_pence": 500}]),
    )  # fmt: skip
    refund = post_json(
        api, "/api/v1/refunds",
        {"receipt": number, "fund": "PARK", "amount_pence": 100, "reason": "Overpaid"},
    ).json()  # fmt: skip
    batch = api.post(
        "/api/v1/imports", {"file": SimpleUploadedFile("a.txt", b"AP0"), "format": "allpay"}
    ).json()
    target = ExportTarget.objects.create(name="Revenues", fields=parse_fields("amount"))
    run = run_export(council=ledger, target=target, acting_user=admin)
    for path in LISTS:
        body = api.get(path).json()
        assert body.get("results") if isinstance(body, dict) else body, path

    connection.set_schema_to_public()
    council_b_api = api_client(council_b, council_b_client)
    for path in LISTS:
        body = council_b_api.get(path).json()
        results = body["results"] if isinstance(body, dict) else body
        assert results == [], path
    for path in [
        f"/api/v1/receipts/{number}",
        f"/api/v1/imports/{batch['id']}",
        f"/api/v1/imports/{batch['id']}/rejected-lines",
        f"/api/v1/exports/{run.pk}/file",
        f"/api/v1/refunds/{refund['id']}",
    ]:
        assert council_b_api.get(path).status_code == 404, path
    # Council A's token on B's host is unknown there.
    a_token = api.defaults["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    assert api_client(council_b, a_token).get("/api/v1/funds").status_code == 404
