"""The `counterfoil` command: demo, serve, worker, and a pass-through to manage.py."""

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from counterfoil.embedded_postgres import ensure_database_url
from counterfoil.environment import env_int

DEFAULT_PORT = 8000
STOP_GRACE_SECONDS = 15

# The GOV.UK Pay stand-in lives beside the tests, outside the shipped packages: the demo
# starts it from the checkout this command runs from.
CHECKOUT = Path(__file__).resolve().parents[2]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="counterfoil", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="prepare, seed and run the platform with a worker")
    demo.add_argument("--port", type=int, default=env_int("PORT", DEFAULT_PORT))
    demo.add_argument(
        "--cluster",
        choices=["single", "citus"],
        default=os.environ.get("CLUSTER") or "single",
        help="citus: run on a throwaway local Citus cluster (a coordinator and two workers)",
    )
    serve = commands.add_parser("serve", help="run the web server (gunicorn)")
    serve.add_argument("--port", type=int, default=env_int("PORT", DEFAULT_PORT))
    serve.add_argument("--workers", type=int, default=env_int("WEB_CONCURRENCY", 2))
    commands.add_parser("worker", help="run a Celery worker")
    commands.add_parser("beat", help="run the one Celery beat (the periodic work) of a platform")
    commands.add_parser(
        "release", help="migrate the public schema and every council behind this release"
    )
    code = commands.add_parser("demo-code", help="print a demo login's current MFA code")
    code.add_argument("email")
    manage = commands.add_parser("manage", help="run a manage.py command", add_help=False)
    manage.add_argument("arguments", nargs=argparse.REMAINDER)

    args = parser.parse_args(argv)
    if args.command == "demo" and args.cluster == "citus":
        return run_demo_on_citus(args.port)
    ensure_database_url()
    if args.command == "manage":
        run_manage(args.arguments)
        return 0
    if args.command == "demo":
        return run_demo(args.port)
    if args.command == "demo-code":
        return print_demo_code(args.email)
    if args.command == "serve":
        return supervise([web_server_command(args.port, args.workers)])
    if args.command == "release":
        run_manage(["release"])
        return 0
    if args.command == "beat":
        return supervise([beat_command()])
    return supervise([worker_command(beat=False)])


def run_manage(arguments: Sequence[str]) -> None:
    ensure_database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "counterfoil.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", *arguments])


def web_server_command(port: int, workers: int = 2) -> list[str]:
    # The rest of gunicorn's configuration is counterfoil.gunicorn_config, as in the image.
    return [
        sys.executable, "-m", "gunicorn", "counterfoil.wsgi:application",
        "--config", "python:counterfoil.gunicorn_config",
        "--bind", f"{os.environ.get('BIND_ADDRESS', '127.0.0.1')}:{port}",
        "--workers", str(workers),
    ]  # fmt: skip


def worker_command(*, beat: bool = True) -> list[str]:
    command = [
        sys.executable, "-m", "celery", "--app", "counterfoil.celery_app", "worker",
        "--loglevel", "INFO", "--concurrency", "2",
    ]  # fmt: skip
    # In the demo the periodic work (GOV.UK Pay's mop-up, per council) is scheduled by its one
    # worker; a platform runs one `counterfoil beat` beside any number of workers.
    return [*command, "--beat"] if beat else command


def beat_command() -> list[str]:
    return [sys.executable, "-m", "celery", "--app", "counterfoil.celery_app", "beat",
            "--loglevel", "INFO"]  # fmt: skip


def run_demo_on_citus(port: int) -> int:
    """The demo on a local Citus cluster started for it (and removed when it stops): every
    council schema a distributed schema on one of the two workers."""
    from counterfoil.citus_cluster import CitusCluster, CitusUnavailable

    print("Starting a local Citus cluster (a coordinator and two workers)…", flush=True)
    try:
        cluster = CitusCluster.start()
    except CitusUnavailable as refusal:
        print(f"No Citus cluster: {refusal}", file=sys.stderr, flush=True)
        return 2
    try:
        os.environ["DATABASE_URL"] = cluster.prepare_database("counterfoil")
        return run_demo(port)
    finally:
        cluster.stop()


def run_demo(port: int) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "counterfoil.settings")
    os.environ.setdefault("PUBLIC_PORT", str(port))  # so emailed links carry the demo's port
    standin_port = env_int("GOVUK_PAY_STANDIN_PORT", port + 111)
    standin_url = f"http://127.0.0.1:{standin_port}"
    # The demo's operator allows its GOV.UK Pay stand-in (here, and in the web server and
    # worker, which inherit this environment): API keys are sent nowhere else.
    os.environ["GOVUK_PAY_STANDIN_URLS"] = standin_url
    # Its stand-in OpenID provider, on http at 127.0.0.1 (allowed in the demo only).
    identity_provider_port = env_int("OIDC_STANDIN_PORT", port + 222)
    identity_provider_url = f"http://127.0.0.1:{identity_provider_port}"
    os.environ.setdefault("SSO_INSECURE_ISSUERS", "1")
    # Its Stripe stand-in (in memory: a new Stripe each start, which the billing seed meets).
    stripe_port = env_int("STRIPE_STANDIN_PORT", port + 112)
    stripe_url = f"http://127.0.0.1:{stripe_port}"
    os.environ["STRIPE_API_BASE"] = stripe_url
    os.environ["STRIPE_SECRET_KEY"] = "sk_test_counterfoil_demo"  # noqa: S105 (the stand-in's)
    os.environ.setdefault("STRIPE_WEBHOOK_SECRETS", "whsec_counterfoil_demo")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from counterfoil.demo_seed import DEMO_PASSWORD, demo_totp_secret, seed_demo
    from counterfoil.local_database import NotALocalDatabase, require_local_database

    try:  # before anything is migrated or started
        require_local_database()
    except NotALocalDatabase as refusal:
        print(refusal, file=sys.stderr, flush=True)
        return 2
    print("Preparing the database (public schema and every council's)…", flush=True)
    call_command("migrate_schemas", interactive=False, verbosity=0)
    if not (CHECKOUT / "tests" / "standins" / "govuk_pay_server.py").exists():
        print(
            "The demo runs from a Counterfoil checkout: its GOV.UK Pay stand-in is test code, "
            "which the wheel does not carry.",
            file=sys.stderr,
            flush=True,
        )
        return 2
    standin = subprocess.Popen(  # noqa: S603
        standin_command(standin_port), env=os.environ.copy(), cwd=CHECKOUT
    )
    _wait_for_port(standin_port, standin)
    identity_provider = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "tests.standins.oidc_provider",
         "--port", str(identity_provider_port), "--demo-port", str(port)],
        env=os.environ.copy(), cwd=CHECKOUT,
    )  # fmt: skip
    _wait_for_port(identity_provider_port, identity_provider, 60, "The stand-in OpenID provider")
    stripe_standin = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "tests.standins.stripe_server", "--port", str(stripe_port)],
        env=os.environ.copy(), cwd=CHECKOUT,
    )  # fmt: skip
    _wait_for_port(stripe_port, stripe_standin, 30, "The Stripe stand-in")
    logins = seed_demo(
        govuk_pay_url=standin_url,
        webhook_port=port,
        identity_provider_url=identity_provider_url,
    )
    from counterfoil.demo_billing import seed_billing

    seed_billing(stripe_url)
    _ask_worker_to_check_in()

    domain = settings.PLATFORM_DOMAIN
    lines = ["", "Counterfoil demo", f"  Platform:    http://{domain}:{port}/"]
    for slug in dict.fromkeys(
        login.where for login in logins if login.where not in {"platform", "both councils"}
    ):
        lines.append(f"  {slug.title():<11}  http://{slug}.{domain}:{port}/")
    lines += ["", f"  Sign in with any of these; the password is {DEMO_PASSWORD} for all:"]
    for login in logins:
        lines.append(
            f"    {login.email:<32} {login.role:<18} {login.where:<14} "
            f"TOTP secret {demo_totp_secret(login.email)}"
        )
    lines += [
        "",
        "  Every login has MFA: add its TOTP secret to an authenticator app, or run",
        "  `.venv/bin/counterfoil demo-code <email>` for the current code.",
        "",
        f"  GOV.UK Pay (local stand-in): {standin_url}; each council's portal is at /pay/.",
        f"  Eastmere's staff may also sign in through its identity provider, a local stand-in"
        f" OpenID provider at {identity_provider_url} (the same emails and password, then TOTP).",
        "  Test card 4444 3333 2222 1111 pays; 4000 0000 0000 0002 is declined.",
        f"  Stripe (local stand-in): {stripe_url}; billing is in the console under Billing,"
        " and on each council's /billing/ page for its admin@.",
        "  Stop with Ctrl-C.",
        "",
    ]
    print("\n".join(lines), flush=True)
    return supervise(
        [web_server_command(port), worker_command()],
        started=[standin, identity_provider, stripe_standin],
    )


def standin_command(port: int) -> list[str]:
    return [sys.executable, "-m", "tests.standins.govuk_pay_server", "--port", str(port)]


def _wait_for_port(
    port: int,
    process: subprocess.Popen[bytes],
    timeout: float = 30,
    name: str = "The GOV.UK Pay stand-in",
) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} stopped (port {port} in use?)")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{name} did not start on port {port}")


def _ask_worker_to_check_in() -> None:
    """Queue a heartbeat per council: the dashboard shows when the worker last reached it."""
    from django.db import transaction
    from django_tenants.utils import schema_context

    from income.actions.worker_heartbeat import request_worker_heartbeat
    from tenants.models import Council, CouncilStatus

    for council in Council.objects.filter(status=CouncilStatus.ACTIVE):
        with schema_context(council.schema_name), transaction.atomic():
            request_worker_heartbeat(acting_user=None)


def print_demo_code(email: str) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "counterfoil.settings")
    import django

    django.setup()
    from counterfoil.demo_seed import current_demo_code

    print(current_demo_code(email))
    return 0


def supervise(commands: list[list[str]], started: Sequence[subprocess.Popen[bytes]] = ()) -> int:
    """Run the commands as child processes (beside any `started` already) until one exits or we
    are told to stop; then stop all."""
    children = [*started] + [
        subprocess.Popen(command, env=os.environ.copy())  # noqa: S603
        for command in commands
    ]
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    try:
        while not stopping:
            for child in children:
                if child.poll() is not None:
                    print(f"{child.args[2]} stopped with exit code {child.returncode}", flush=True)
                    exit_code = child.returncode or 1
                    stopping = True
            time.sleep(0.2)
    finally:
        _stop_all(children)
    return exit_code


def _stop_all(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    print("Counterfoil stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
