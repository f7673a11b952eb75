"""Input masks: `#` a digit, `@` a letter, `*` a letter or digit; anything else itself."""

KINDS = {"#": "a digit", "@": "a letter", "*": "a letter or a digit"}


def _fits(symbol: str, character: str) -> bool:
    if symbol == "#":
        return character.isascii() and character.isdigit()
    if symbol == "@":
        return character.isascii() and character.isalpha()
    if symbol == "*":
        return character.isascii() and character.isalnum()
    return character == symbol


def mask_problem(mask: str, reference: str) -> str | None:
    """Why `reference` does not fit `mask`, or None if it does."""
    if len(reference) != len(mask):
        return f"must be {len(mask)} characters, like {mask} (it has {len(reference)})"
    for position, (symbol, character) in enumerate(zip(mask, reference, strict=True), start=1):
        if not _fits(symbol, character):
            wanted = KINDS.get(symbol, f'"{symbol}"')
            return f'character {position} must be {wanted} (it is "{character}")'
    return None
