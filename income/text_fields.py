"""A receipt's text (reference, payer's name, narrative) is kept on one line: tabs, line
breaks and other control or separator characters become spaces when it is written, so every
file it goes out in has one line per entry (income.exports)."""


def one_line(text: str) -> str:
    """`text` with each character that is not printable (str.isprintable: control, format
    and separator characters other than the space) as a space, and the ends trimmed."""
    if text.isprintable():  # nearly always: a check in C, no copy
        return text.strip()
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()
