"""The one line every benchmark prints (see ARCHITECTURE.md, "Benchmarks")."""

import operator
from typing import Literal

_COMPARE = {">=": operator.ge, "<=": operator.le}


def bench_line(
    name: str,
    measured: tuple[str, float, str],
    reference: tuple[str, float, str],
    *,
    target: float,
    op: Literal[">=", "<="] = ">=",
) -> str:
    """`BENCH <name> <what>=<v><unit> <ref>=<v><unit> ratio=<r> target=<op><t> ok|short`."""
    what, value, unit = measured
    ref_what, ref_value, ref_unit = reference
    ratio = value / ref_value if ref_value else 0.0
    verdict = "ok" if _COMPARE[op](ratio, target) else "short"
    return (
        f"BENCH {name} {what}={value:.0f}{unit} {ref_what}={ref_value:.0f}{ref_unit} "
        f"ratio={ratio:.2f} target={op}{target:g} {verdict}"
    )
