"""Cells of the CSV files Counterfoil writes (exports, configuration, import reports), as a
spreadsheet will read them: one starting with a character it would take as the start of a
formula is written after an apostrophe, which spreadsheets show as text and do not run."""

# = + - @ begin a formula, and a spreadsheet may drop a leading tab or carriage return and run
# what follows: the six characters OWASP's advice on CSV injection lists.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
