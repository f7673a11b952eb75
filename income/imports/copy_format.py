"""Values written in COPY's text format (tab-separated, `\\N` for NULL)."""

NULL = "\\N"
# Backslash, tab and line breaks escaped; `str.translate` with this table escapes a value.
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: str) -> str:
    """A value for COPY's text format: backslash, tab and line breaks escaped."""
    return value.translate(COPY_ESCAPES)
