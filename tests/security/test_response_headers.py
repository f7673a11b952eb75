"""Security finding 12: no Content-Security-Policy anywhere, and no `Cache-Control: no-store`
on signed-in pages and downloads. (Every browser test also fails on any policy violation the
browser reports: tests/e2e/conftest.py.)"""

import re
from pathlib import Path

import pytest

from tenants.models import CouncilRole
from tests.conftest import host_client, make_member, sign_in

pytestmark = pytest.mark.django_db

REPOSITORY = Path(__file__).resolve().parents[2]
TEMPLATE_FOLDERS = [
    folder
    for part in ("income", "tenants", "platform")
    for folder in (REPOSITORY / part).rglob("templates")
]


def policy(response) -> dict[str, list[str]]:
    directives = response["Content-Security-Policy"].split(";")
    return {d.split()[0]: d.split()[1:] for d in (d.strip() for d in directives) if d}


def test_a_signed_in_page_has_a_strict_policy_and_its_one_inline_script_its_nonce(council_a):
    client = sign_in(host_client(council_a), make_member(council_a, CouncilRole.INCOME_OFFICER))

    response = client.get("/")

    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    nonce = next(s for s in directives["script-src"] if s.startswith("'nonce-"))[7:-1]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", response.content.decode())
    assert inline_scripts == [f' nonce="{nonce}"']
    # A new nonce each time.
    assert policy(client.get("/"))["script-src"] != directives["script-src"]


def test_public_pages_carry_the_policy_too():
    response = host_client(None).get("/apply/")
    assert policy(response)["default-src"] == ["'self'"]


def test_signed_in_pages_and_downloads_are_never_stored(council_a):
    client = sign_in(host_client(council_a), make_member(council_a, CouncilRole.INCOME_OFFICER))

    for path in ("/", "/config/funds/?format=csv"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path
        assert "private" in response["Cache-Control"], path
    assert response["Content-Disposition"].startswith("attachment")


def test_no_template_has_an_inline_style_or_a_script_without_the_nonce():
    """The policy allows neither: one would silently break in the browser."""
    offenders = []
    for folder in TEMPLATE_FOLDERS:
        for template in folder.rglob("*.html"):
            if "/email/" in template.as_posix():  # emails are read in mail clients, not here
                continue
            text = template.read_text()
            if re.search(r"\sstyle=", text):
                offenders.append(f"{template}: inline style")
            for attributes in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", text):
                if "csp_nonce" not in attributes:
                    offenders.append(f"{template}: inline script without the nonce")
    assert not offenders, offenders
