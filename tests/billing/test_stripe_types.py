"""Everything billing sends Stripe is checked against the `stripe` package's typed request
parameters: a misspelt or wrongly typed parameter fails here, not in production."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_stripe_gateway_type_checks_against_the_stripe_package():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "billing/stripe_gateway.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
