"""Everything billing sends Stripe is checked against the `stripe` package's typed request
parameters: a misspelt or wrongly typed parameter fails here, not in production. The whole of
billing/ is checked (every function typed: pyproject.toml's mypy overrides), not only the
gateway."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _mypy(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mypy", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_all_of_billing_type_checks_against_the_stripe_package():
    result = _mypy("billing/")
    assert result.returncode == 0, result.stdout + result.stderr
    modules = [path for path in (ROOT / "billing").rglob("*.py") if "migrations" not in path.parts]
    assert f"Success: no issues found in {len(modules)} source files" in result.stdout


def test_a_wrong_stripe_parameter_would_fail_the_check():
    wrong = _mypy(
        "-c",
        "import stripe\n"
        "stripe.Subscription.cancel('sub_1', invoice_now=True, prorated=True)\n"
        "stripe.Subscription.modify('sub_1', proration_behaviour='none')\n",
    )
    assert wrong.returncode == 1
    assert '<string>:2: error: No overload variant of "cancel"' in wrong.stdout
    assert '<string>:3: error: Unexpected keyword argument "proration_behaviour"' in wrong.stdout
