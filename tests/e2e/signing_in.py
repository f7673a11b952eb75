"""Signing a member in through the real form, as every browser test past the sign-in page
starts: email and password, then the code from their authenticator."""

from playwright.sync_api import Page

from tests.factories import PASSWORD, totp_code_now


def sign_in(page: Page, address: str, email: str, *, lands_on: str | None = None) -> None:
    """Open `address` (the sign-in form answers for it), sign in, and wait to land on
    `lands_on` (by default, `address` itself)."""
    page.goto(address)
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.fill("input[name=code]", totp_code_now(email))
    page.click("button[type=submit]")
    page.wait_for_url(lands_on or address)
