"""A receipt's text (reference, payer's name, narrative) is kept on one line: tabs, line
breaks and other control characters, and the Unicode line and paragraph separators, become
spaces when it is written, so every file it goes out in has one line per entry
(income.exports). Other characters stay, a non-breaking space or a zero-width joiner in a
name among them. The configuration that goes out beside it (a fund's name and ledger codes)
is refused with a line break instead: a person typed it and can mend it."""

import unicodedata

from django.core.exceptions import ValidationError

# Control characters (tabs, line breaks) and the line and paragraph separators.
_BREAKING = ("Cc", "Zl", "Zp")


def one_line(text: str) -> str:
    """`text` with each breaking character as a space, and the ends trimmed."""
    if text.isprintable():  # nearly always: a check in C, no copy
        return text.strip()
    return "".join(" " if unicodedata.category(ch) in _BREAKING else ch for ch in text).strip()


def validate_one_line(value: str) -> None:
    """Refuse text with a tab, line break or other control character."""
    if any(unicodedata.category(ch) in _BREAKING for ch in value):
        raise ValidationError(
            "Keep this on one line, without tabs or line breaks: it is written into export "
            "files, one line per payment.",
            code="one_line",
        )
