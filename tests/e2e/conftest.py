"""Browser tests: Debian's Chromium driven by Playwright against the real app under gunicorn,
with axe-core checking each page for WCAG 2.2 A/AA problems."""

import json
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from django.db import connections
from playwright.sync_api import Browser, Page, sync_playwright
from psycopg.conninfo import make_conninfo

from tests.bench.http_load import gunicorn, http_request

REPOSITORY = Path(__file__).resolve().parents[2]
AXE = REPOSITORY / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
T = TypeVar("T")
SERVER_APPLICATION_NAME = "counterfoil-e2e-server"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="package")
def e2e_standin_port() -> int:
    """A free port for a GOV.UK Pay stand-in, which the server is told to allow."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="package")
def live_server_port(
    django_db_setup, django_db_blocker, council_a, council_b, tmp_path_factory, e2e_standin_port
) -> Iterator[int]:
    """The app under gunicorn on a free port, reading this session's test database."""
    from django.conf import settings

    env = {
        **os.environ,
        "GOVUK_PAY_STANDIN_URLS": f"http://127.0.0.1:{e2e_standin_port}",
        "DATABASE_URL": make_conninfo(
            os.environ["DATABASE_URL"],
            dbname=settings.DATABASES["default"]["NAME"],
            application_name=SERVER_APPLICATION_NAME,
        ),
    }
    log = tmp_path_factory.mktemp("e2e") / "gunicorn.log"
    print(f"e2e server log: {log}")
    with gunicorn(
        "counterfoil.wsgi:application",
        env=env,
        log_path=log,
        probe=http_request("localhost", "/health/live"),
        workers=2,
    ) as port:
        yield port
    committed(
        django_db_blocker,
        lambda: _wait_for_server_connections_to_close(settings.DATABASES["default"]["NAME"]),
    )


def _wait_for_server_connections_to_close(database: str) -> None:
    """The stopped server's database sessions end a moment after its processes do; the test
    database cannot be dropped at the end of the session until they have."""
    from django.db import connection

    from tests.waiting import wait_for

    def alone() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = %s AND application_name = %s",
                [database, SERVER_APPLICATION_NAME],
            )
            return cursor.fetchone()[0] == 0

    wait_for(alone, timeout=20)


# Package scope: Playwright's sync API runs an event loop on this thread while a browser is
# open, and Django refuses synchronous database work under a running loop, so the browser
# must be gone before the rest of the suite runs.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
            ],
        )  # fmt: skip
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page whose every Content-Security-Policy violation fails the test: the policy is
    enforced in the browser, so whatever a test walks through is checked against it."""
    context = browser.new_context()
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    assert not violations, violations


def committed(django_db_blocker: object, make: Callable[[], T]) -> T:
    """Run `make` (which writes to the database) on a plain thread and commit, so the server
    process sees its rows. Not on this thread: Playwright's event loop runs here, and the ORM
    would open a second connection bound to that loop's context and leave it open."""

    def work() -> T:
        try:
            with django_db_blocker.unblock():  # type: ignore[attr-defined]
                return make()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def axe_violations(page: Page) -> list[str]:
    """WCAG 2.2 A/AA violations axe-core finds on the page, one readable line each."""
    # Evaluated, not added as a <script>: the page's policy rightly refuses inline scripts.
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        WCAG_22_AA,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + json.dumps([node["target"] for node in v["nodes"]][:3])
        for v in result["violations"]
    ]
