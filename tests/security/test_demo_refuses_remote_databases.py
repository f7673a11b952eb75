"""`counterfoil demo` seeds logins with a published password and TOTP secrets: it must refuse
to seed anything but a database on this machine."""

import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def test_the_demo_command_refuses_a_database_on_another_machine_before_touching_it():
    environment = {
        **os.environ,
        # .invalid never resolves: had the demo tried to connect, it would fail differently.
        "DATABASE_URL": "postgres://postgres@db.counterfoil.invalid:5432/counterfoil",
        "PYTHONPATH": os.pathsep.join([str(REPOSITORY), str(REPOSITORY / "platform")]),
    }
    demo = "from counterfoil.cli import main; raise SystemExit(main(['demo']))"
    finished = subprocess.run(
        [sys.executable, "-c", demo],
        env=environment, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert finished.returncode == 2, finished.stderr
    assert "runs only against a database on this machine, not db.counterfoil.invalid" in (
        finished.stderr
    )
    assert "Preparing the database" not in finished.stdout
