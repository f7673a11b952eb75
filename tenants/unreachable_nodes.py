"""Recognising the errors Citus raises when a worker node does not answer. A query reaching the
node reports a connection failure naming it (SQLSTATE 08006): "connection to the remote node
postgres@127.0.0.1:5433 failed with the following error: ..."; a schema change, which Citus
applies on every worker, may instead say "failure on connection marked as essential:
127.0.0.1:5433" (found by stopping a worker of the local cluster and trying each).
"""

import re

# The user name before the node is in Citus 13's wording, not in older ones: optional.
_NODE_DID_NOT_ANSWER = re.compile(
    r"connection to the remote node (?:[^@\s]+@)?(\S+:\d+) failed"
    r"|failure on connection marked as essential: (\S+:\d+)"
)


def node_named_in(text: str) -> str | None:
    """The node ("host:port") an error's text says did not answer, or None."""
    match = _NODE_DID_NOT_ANSWER.search(text)
    return (match.group(1) or match.group(2)) if match else None


def unreachable_node(error: BaseException) -> str | None:
    """The node that `error`, or what caused it, says did not answer; None for any other
    error. Django's database errors carry the driver's as their cause."""
    seen: BaseException | None = error
    while seen is not None:
        node = node_named_in(str(seen))
        if node:
            return node
        seen = seen.__cause__
    return None
