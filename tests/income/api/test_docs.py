"""The OpenAPI 3.1 document and the browsable docs, served from the council's own host: Swagger
UI from django-ninja's own static files (no CDN), under the site's Content-Security-Policy,
which a real Chromium enforces while it renders every operation."""

import shutil
from pathlib import Path

import pytest

from tenants.actions.councils import council_host
from tests.conftest import host_client

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_the_document_is_openapi_31_with_bearer_security(db, council_a):
    document = host_client(council_a).get("/api/v1/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["ClientToken"]["scheme"] == "bearer"
    assert "/api/v1/receipts" in document["paths"]
    create = document["paths"]["/api/v1/receipts"]["post"]
    assert create["operationId"] == "create_receipt"
    assert {"401", "403", "404", "422", "429"} <= set(create["responses"])


def test_the_docs_page_needs_nothing_from_outside_and_keeps_the_policy(db, council_a):
    client = host_client(council_a)
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "https://" not in html and "cdn" not in html.lower()
    assert '<script src="/static/ninja/swagger-ui-bundle.js">' in html
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200


@pytest.mark.browser
def test_chromium_renders_every_operation_without_a_policy_violation(live_api_port, council_a):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package.")
    url = f"http://{council_host(council_a.slug)}:{live_api_port}/api/v1/docs"
    violations: list[str] = []
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.on(
            "request",
            lambda r: outside.append(r.url) if "localhost" not in r.url.split("/")[2] else None,
        )
        page.goto(url)
        page.locator(".opblock").first.wait_for()
        operations = page.locator(".opblock").count()
        browser.close()
    assert operations == 17
    assert violations == [] and outside == []


@pytest.mark.browser
def test_an_admin_adds_a_client_in_chromium_and_axe_finds_nothing(
    live_api_port, committed_council_with_client
):
    """The client pages, under the policy, with no WCAG 2.2 AA problem axe-core can find."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import axe_violations
    from tests.factories import PASSWORD, totp_code_now

    council, _token, admin = committed_council_with_client
    base = f"http://{council_host(council.slug)}:{live_api_port}"
    violations: list[str] = []
    found: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(f"{base}/api-clients/")
        page.fill("input[name=login]", admin.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.fill("input[name=code]", totp_code_now(admin.email))
        page.click("button[type=submit]")
        page.wait_for_url("**/api-clients/")
        found["list"] = axe_violations(page)
        page.fill("input[name=name]", "Housing system")
        page.check("input[value='receipts:read']")
        page.fill("input[name=expires_on]", "31/12/2027")
        page.click("button:has-text('Add client')")
        token = page.inner_text("#api-token")
        found["token"] = axe_violations(page)
        page.click("a:has-text('Go to Housing system')")
        assert "Housing system" in page.inner_text("h1")
        found["detail"] = axe_violations(page)
        browser.close()
    assert token.startswith("cfk_")
    assert found == {"list": [], "token": [], "detail": []}
    assert violations == []
