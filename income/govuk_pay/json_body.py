"""Reading a webhook's JSON body without letting its shape hurt us: a body nested thousands
deep makes Python's parser (and the code that walks the result) recurse until it fails."""

import json
import re
from typing import Any

# GOV.UK Pay's messages nest five deep (message → resource → card_details → billing_address);
# anything much deeper is not from GOV.UK Pay.
MAX_DEPTH = 32

_STRING = re.compile(rb'"(?:\\.|[^"\\])*"')


class TooDeeplyNested(ValueError):
    """The body nests arrays or objects deeper than any real message."""


def nesting_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects, brackets inside strings not counted."""
    depth = deepest = 0
    for byte in _STRING.sub(b"", body):
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


def load_message(body: bytes) -> Any:
    """The parsed body; ValueError (TooDeeplyNested among them) if it is not JSON we read."""
    if nesting_depth(body) > MAX_DEPTH:
        raise TooDeeplyNested(f"The body nests deeper than {MAX_DEPTH} levels.")
    return json.loads(body)
