"""Run the stand-in OpenID provider alone, for the demo:

    .venv/bin/python -m tests.standins.oidc_provider --port 8222

It registers the client `counterfoil` (secret `counterfoil-standin-secret`) for Northbrook's
and Eastmere's demo hosts, `counterfoil-mfa` whose tokens say the person used MFA, and signs in
the demo's people (admin@, manager@, officer@, auditor@northbrook.example and eastmere.example)
with the demo password. Stop it with Ctrl-C.
"""

import argparse
import contextlib
import signal
import time

from tests.standins.oidc_provider import StandinClient, StandinOidcProvider, StandinUser

DEMO_PASSWORD = "counterfoil-demo-2026"
DEMO_SECRET = "counterfoil-standin-secret"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)  # stop the provider's process too
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8222)
    parser.add_argument("--demo-port", type=int, default=8000, help="the demo's web port")
    args = parser.parse_args()
    councils = ("northbrook", "eastmere")
    users = [
        StandinUser(email=f"{role}@{council}.example", password=DEMO_PASSWORD)
        for council in councils
        for role in ("admin", "manager", "officer", "auditor")
    ]
    redirect_uris = [
        f"http://{council}.localhost:{args.demo_port}/accounts/oidc/{council}/login/callback/"
        for council in councils
    ]
    clients = [
        StandinClient(id="counterfoil", secret=DEMO_SECRET),
        StandinClient(id="counterfoil-mfa", secret=DEMO_SECRET, amr=["pwd", "mfa"]),
    ]
    provider = StandinOidcProvider(
        users=users, clients=clients, redirect_uris=redirect_uris, port=args.port
    )
    with provider:
        print(f"Stand-in OpenID provider: issuer {provider.url}")
        print(f"Clients: counterfoil and counterfoil-mfa, secret {DEMO_SECRET}")
        print(f"Users: {', '.join(u.email for u in users)}, password {DEMO_PASSWORD}")
        with contextlib.suppress(KeyboardInterrupt):
            while provider.process is not None and provider.process.poll() is None:
                time.sleep(1)


if __name__ == "__main__":
    main()
