"""The cost-sharing statement's modules type-check too: the true-up's credit notes and invoice
items go through the gateway with the `stripe` package's typed parameters."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "billing/apportionment.py",
    "billing/cost_statement.py",
    "billing/actions/cost_statement.py",
    "billing/formats/aws_cost_report.py",
    "billing/views/cost_statement.py",
    "platform/counterfoil/demo_billing.py",
]


def test_the_cost_statement_type_checks():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", *MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
