"""The whole joining journey in a real browser, every page checked with axe-core: a council
applies, an operator approves, the contact follows the emailed link, sets a password, enrols
TOTP (the test computes the code from the secret the page shows), lands on the council's home
page and invites a colleague as auditor."""

import os
import re
import time
from pathlib import Path

import pytest

from counterfoil.environment import data_dir
from tenants.models import PlatformRole
from tests.e2e.conftest import axe_violations, committed
from tests.factories import PASSWORD, UserFactory, totp_code_for_secret, totp_code_now

# The server under test writes its email to files (it is another process: no mail.outbox).
# Set when this module is collected, before the package's server starts.
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.filebased.EmailBackend"

pytestmark = pytest.mark.browser

CONTACT = "rhian.rivers@riverside.example"


def url(port: int, host: str, path: str = "/") -> str:
    return f"http://{host}:{port}{path}"


def invitation_link(to: str, timeout: float = 20) -> str:
    """The join link from the newest email to `to` the server wrote."""
    folder = Path(data_dir()) / "mail"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
            text = message.read_text(errors="replace")
            if f"To: {to}" in text:
                found = re.search(r"http://[a-z0-9.-]+(?::\d+)?/team/join/[\w-]+/", text)
                assert found, text
                return found.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no email to {to} in {folder}")


def assert_accessible(page) -> None:
    violations = axe_violations(page)
    assert violations == [], (page.url, violations)


def test_a_council_applies_is_approved_and_its_admin_joins_enrols_and_invites(
    browser, live_server_port, django_db_blocker
):
    operator = committed(
        django_db_blocker,
        lambda: UserFactory(
            email="journey.operator@counterfoil.example", platform_role=PlatformRole.OPERATOR
        ),
    )
    platform = browser.new_context()
    page = platform.new_page()

    # 1. The council applies.
    page.goto(url(live_server_port, "localhost", "/apply/"))
    assert_accessible(page)
    page.fill("#id_council_name", "Riverside Borough Council")
    page.fill("#id_gss_code", "E06000123")
    page.fill("#id_requested_slug", "riverside")
    page.fill("#id_contact_name", "Rhian Rivers")
    page.fill("#id_contact_email", CONTACT)
    page.click("button[type=submit]")
    page.wait_for_url("**/apply/submitted/")
    assert "Application sent" in page.content()
    assert_accessible(page)

    # 2. An operator signs in (password, then TOTP) and approves it.
    page.goto(url(live_server_port, "localhost", "/accounts/login/"))
    page.fill("input[name=login]", operator.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.fill("input[name=code]", totp_code_now(operator.email))
    page.click("button[type=submit]")
    page.wait_for_url(url(live_server_port, "localhost", "/"))
    page.goto(url(live_server_port, "localhost", "/console/applications/"))
    assert_accessible(page)
    page.click("text=Riverside Borough Council")
    assert_accessible(page)
    page.click("text=Approve and set up the council")
    page.wait_for_selector("text=Riverside Borough Council is set up")
    assert_accessible(page)
    platform.close()

    # 3. The contact follows the emailed link and sets a password.
    link = invitation_link(CONTACT).replace(
        "riverside.localhost/", f"riverside.localhost:{live_server_port}/"
    )
    council = browser.new_context()
    page = council.new_page()
    page.goto(link)
    assert "Join Riverside Borough Council" in page.content()
    assert_accessible(page)
    page.fill("#id_full_name", "Rhian Rivers")
    page.fill("#id_password", "riverside-income-2026")
    page.fill("#id_password_again", "riverside-income-2026")
    page.click("button[type=submit]")

    # 4. Everything leads to enrolment until an authenticator is set up.
    page.wait_for_url("**/accounts/2fa/totp/activate/")
    assert_accessible(page)
    page.goto(url(live_server_port, "riverside.localhost", "/team/"))
    page.wait_for_url("**/accounts/2fa/totp/activate/")
    secret = page.input_value("#authenticator_secret")
    page.fill("input[name=code]", totp_code_for_secret(secret))
    page.click("button[type=submit]")
    page.wait_for_load_state()

    # 5. The council's home page.
    page.goto(url(live_server_port, "riverside.localhost", "/"))
    assert page.locator("h1").inner_text() == "Riverside Borough Council"
    assert_accessible(page)

    # 6. Invite a colleague as auditor.
    page.goto(url(live_server_port, "riverside.localhost", "/team/invite/"))
    assert_accessible(page)
    page.fill("#id_email", "colleague@riverside.example")
    page.check("text=Auditor (read-only)")
    page.click("text=Send invitation")
    page.wait_for_selector("text=Invitation sent to colleague@riverside.example")
    assert_accessible(page)
    assert invitation_link("colleague@riverside.example").startswith("http://riverside.localhost")
    council.close()


def test_the_console_and_host_name_pages_are_accessible(
    browser, live_server_port, council_a, django_db_blocker
):
    from tenants.models import CouncilRole
    from tests.conftest import make_member

    operator = committed(
        django_db_blocker,
        lambda: UserFactory(
            email="axe.operator@counterfoil.example", platform_role=PlatformRole.OPERATOR
        ),
    )
    admin = committed(
        django_db_blocker,
        lambda: make_member(council_a, CouncilRole.ADMIN, email="axe.admin@example.org"),
    )

    def signed_in(host: str, person) -> object:
        context = browser.new_context()
        page = context.new_page()
        page.goto(url(live_server_port, host, "/accounts/login/"))
        page.fill("input[name=login]", person.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/accounts/2fa/authenticate/")
        page.fill("input[name=code]", totp_code_now(person.email))
        page.click("button[type=submit]")
        page.wait_for_url(url(live_server_port, host, "/"))
        return context, page

    context, page = signed_in("localhost", operator)
    for path in ("/console/", f"/console/councils/{council_a.pk}/", "/console/audit/"):
        page.goto(url(live_server_port, "localhost", path))
        assert page.locator("h1").count() == 1, path
        assert_accessible(page)
    context.close()

    host = f"{council_a.slug}.localhost"
    context, page = signed_in(host, admin)
    for path in ("/team/", "/team/audit/", "/team/domains/"):
        page.goto(url(live_server_port, host, path))
        assert_accessible(page)
    page.fill("#id_hostname", "payments.axe-check.gov.uk")
    page.click("text=Add host name")
    page.wait_for_selector("text=_counterfoil.payments.axe-check.gov.uk")
    assert_accessible(page)
    context.close()
