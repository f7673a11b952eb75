"""The interface shell in a real browser: council and platform pages, sign-in, accessibility."""

import pytest

from tenants.actions.councils import council_host
from tests.e2e.conftest import axe_violations, committed
from tests.factories import PASSWORD, totp_code_now

pytestmark = pytest.mark.browser


def url(port: int, host: str, path: str = "/") -> str:
    return f"http://{host}:{port}{path}"


def test_the_council_sign_in_page_names_the_council_and_is_accessible(
    page, live_server_port, council_a
):
    page.goto(url(live_server_port, council_host(council_a.slug), "/accounts/login/"))
    assert page.locator(".govuk-header").inner_text().strip() == "Northbrook Test Council"
    assert page.locator("link[href*='govuk-frontend.min.css']").count() == 1
    assert axe_violations(page) == []


def test_the_platform_landing_page_is_accessible(page, live_server_port):
    page.goto(url(live_server_port, "localhost"))
    assert "Income management, built once and shared" in page.content()
    assert axe_violations(page) == []


def test_a_member_signs_in_through_the_form_and_lands_on_their_dashboard(
    page, live_server_port, council_a, django_db_blocker
):
    from tests.conftest import make_member

    member = committed(
        django_db_blocker, lambda: make_member(council_a, email="browser.member@example.org")
    )
    page.goto(url(live_server_port, council_host(council_a.slug), "/"))
    page.fill("input[name=login]", member.email)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert "The email address and/or password you specified are not correct" in page.content()
    assert axe_violations(page) == []

    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    # Staff have a second factor: the code from their authenticator comes next.
    page.wait_for_url("**/accounts/2fa/authenticate/")
    assert axe_violations(page) == []
    page.fill("input[name=code]", totp_code_now(member.email))
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "Northbrook Test Council"
    assert axe_violations(page) == []
