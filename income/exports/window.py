"""Which postings an export run holds: those whose transactions committed after the previous
run's snapshot and by this run's own.

Posting ids cannot mark the place: ids are drawn when a row is written, not when its
transaction commits, so a long import can commit rows numbered below ones already exported.
Instead each posting keeps the id of the transaction that wrote it (`xact_id`), and each run
keeps PostgreSQL's snapshot (`pg_current_snapshot()`: every transaction below `xmin` had
finished, none from `xmax` on had, and `xip` lists those still running between). A posting
is in a run when its transaction is visible in the run's snapshot and was not in the previous
run's: each committed transaction is first visible in exactly one run. (PgQ builds its event
batches on the same idea.) That holds while transaction ids only rise, as they do on one
server; a database restored from a dump onto another starts them again lower, and there a
run is refused (income.actions.exports) rather than taking new postings for ones sent.

A run made in a transaction that has itself written postings (a test, a script) sees those
written so far; they are marked by the posting sequence's value when the snapshot was taken,
and the ones its transaction writes afterwards belong to the next run.
"""

from dataclasses import dataclass
from typing import Any

TAKE = """
SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint,
    ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(s) AS x ORDER BY 1),
    pg_current_xact_id_if_assigned()::text::bigint,
    (SELECT last_value FROM income_posting_id_seq)
FROM pg_current_snapshot() AS s
"""


@dataclass(frozen=True)
class LedgerSnapshot:
    xmin: int
    xmax: int
    xip: tuple[int, ...]
    own_xact_id: int | None = None
    own_last_posting_id: int | None = None


def take_snapshot(cursor: Any) -> LedgerSnapshot:
    """The transactions committed as of now, and this one's own postings written so far."""
    cursor.execute(TAKE)
    xmin, xmax, xip, own, last_posting_id = cursor.fetchone()
    xip = list(xip)
    if own is None:
        return LedgerSnapshot(xmin, xmax, tuple(xip))
    if own >= xmax:
        # PostgreSQL's snapshot leaves out its own transaction; count it in, with every id
        # between as still running (they were: none of them had finished).
        xip += range(xmax, own)
        xmax = own + 1
    return LedgerSnapshot(xmin, xmax, tuple(xip), own, last_posting_id or 0)


def _visible(snapshot: LedgerSnapshot, name: str) -> tuple[str, dict[str, Any]]:
    """SQL true for a posting `p` visible in `snapshot`, and its parameters."""
    params = {f"{name}_xmin": snapshot.xmin, f"{name}_xmax": snapshot.xmax}
    sql = f"(p.xact_id < %({name}_xmin)s OR p.xact_id < %({name}_xmax)s"
    if snapshot.xip:
        sql += f" AND p.xact_id <> ALL(%({name}_xip)s::bigint[])"
        params[f"{name}_xip"] = list(snapshot.xip)
    sql += ")"
    if snapshot.own_xact_id is not None:
        sql += f" AND (p.xact_id <> %({name}_own)s OR p.id <= %({name}_own_last)s)"
        params[f"{name}_own"] = snapshot.own_xact_id
        params[f"{name}_own_last"] = snapshot.own_last_posting_id
    return sql, params


def window_condition(
    current: LedgerSnapshot, previous: LedgerSnapshot | None
) -> tuple[str, dict[str, Any]]:
    """SQL true for a posting `p` in the run of `current` after `previous`, and its
    parameters. The bounds on `p.xact_id` let the BRIN index skip older postings."""
    now, params = _visible(current, "now")
    sql = f"p.xact_id < %(now_xmax)s AND {now}"
    if previous is not None:
        before, before_params = _visible(previous, "before")
        sql = f"p.xact_id >= %(before_xmin)s AND {sql} AND NOT ({before})"
        params |= before_params
    return sql, params
