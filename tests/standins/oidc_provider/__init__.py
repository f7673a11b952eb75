"""A real OpenID provider on a loopback port, for the tests and the demo: allauth's own
`allauth.idp.oidc` in a tiny Django project of its own (settings.py says why its database is
SQLite in memory), served by gunicorn in a separate process.

It publishes its discovery document and keys, signs people in on its own login page, asks
their consent, and issues RS256 ID tokens by the authorization code flow, as any provider
does. Its made-up users and registered clients are given when it starts; some clients
misbehave on purpose, for the tests of refusals (tests.standins.oidc_provider.adapter and
.forgery): `amr` with or without "mfa", a wrong issuer, a wrong audience, a forged signature.

Run alone (the demo): `python -m tests.standins.oidc_provider --port 8222` and see --help.
"""

import json
import os
import socket
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from tests.waiting import wait_for

REPOSITORY = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class StandinUser:
    email: str
    password: str
    email_verified: bool = True
    name: str = ""


@dataclass(frozen=True)
class StandinClient:
    id: str
    secret: str
    amr: list[str] = field(default_factory=lambda: ["pwd"])
    # "", "wrong-issuer", "wrong-audience" or "forged-signature"
    mischief: str = ""
    skip_consent: bool = False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StandinOidcProvider:
    """The provider in its own process, started on entering and stopped on leaving."""

    def __init__(
        self,
        *,
        users: list[StandinUser],
        clients: list[StandinClient],
        redirect_uris: list[str],
        port: int | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = {
            "users": [asdict(user) for user in users],
            "clients": [asdict(client) for client in clients],
            "redirect_uris": redirect_uris,
        }
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "StandinOidcProvider":
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.standins.oidc_provider.settings",
            "OIDC_STANDIN_CONFIG": json.dumps(self.config),
            "PYTHONPATH": str(REPOSITORY),
        }
        command = [
            sys.executable, "-m", "gunicorn", "tests.standins.oidc_provider.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--worker-class", "sync",
            "--timeout", "30", "--log-level", "warning",
        ]  # fmt: skip
        output = self.log_path.open("wb") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            command, cwd=REPOSITORY, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            wait_for(self._answers, timeout=60)
        except BaseException:
            self.stop()
            raise

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            log = self.log_path.read_text() if self.log_path else ""
            raise RuntimeError(f"the stand-in OpenID provider stopped:\n{log}")
        try:
            return httpx.get(f"{self.url}/.well-known/openid-configuration").status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
