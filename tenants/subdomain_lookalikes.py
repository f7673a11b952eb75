"""Subdomains that read as another council's: `northbr00k` for `northbrook`, `rn` for `m`.

Non-ASCII look-alikes never get this far (a subdomain is plain a-z, 0-9 and hyphens); these
are the ASCII ones, which a phishing page would use to pass for a council's payment site.
Two subdomains look alike when they have the same skeleton: digits read as the letters they
resemble, letter pairs read as the letter they resemble, and hyphens dropped.
"""

from collections.abc import Iterable

# Letter pairs first, then single characters, so "rn1" becomes "ml" and not something else.
_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_SINGLES = str.maketrans({"0": "o", "1": "l", "i": "l", "5": "s", "-": None})


def skeleton(slug: str) -> str:
    """What the subdomain reads as at a glance."""
    for pair, letter in _PAIRS:
        slug = slug.replace(pair, letter)
    return slug.translate(_SINGLES)


def lookalike_of(slug: str, taken: Iterable[str]) -> str | None:
    """The first of `taken` that `slug` could be mistaken for (but is not), else None."""
    shape = skeleton(slug)
    for other in taken:
        if other != slug and skeleton(other) == shape:
            return other
    return None
