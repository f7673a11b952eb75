"""The payment-file formats Counterfoil reads, by name. Each is one small module with
NAME, TITLE, FIELDS (what it fills), NEEDS_MAPPING, CHANNELS, `looks_like(head)` and
`read(stream, options=...)`."""

from collections.abc import Iterator
from types import ModuleType
from typing import BinaryIO

from income.formats import allpay, bacs_standard18, bank_csv, camt053, generic_csv, swift_mt940
from income.formats.records import FileRefused, ReadOptions

FORMATS: dict[str, ModuleType] = {
    module.NAME: module
    for module in (allpay, bacs_standard18, camt053, swift_mt940, bank_csv, generic_csv)
}
# Formats recognisable from their first bytes (CSV is recognised only by its mapping).
_SNIFFABLE = (camt053, swift_mt940, allpay, bacs_standard18)


def format_choices() -> list[tuple[str, str]]:
    return [(name, module.TITLE) for name, module in FORMATS.items()]


def get_format(name: str) -> ModuleType:
    try:
        return FORMATS[name]
    except KeyError:
        raise FileRefused(f'"{name}" is not a file format Counterfoil reads.') from None


def read_file(name: str, stream: BinaryIO, *, options: ReadOptions | None = None) -> Iterator:
    """Records and rejected lines from `stream` in format `name`; refuses a file that is
    plainly another format, saying which."""
    chosen = get_format(name)
    head = stream.read(4096)
    stream.seek(0)
    if head.strip() and not chosen.looks_like(head):
        for other in _SNIFFABLE:
            if other is not chosen and other.looks_like(head):
                raise FileRefused(
                    f"This looks like a file of another format ({other.TITLE}), not "
                    f"{chosen.TITLE}. Choose that format and upload it again."
                )
    return chosen.read(stream, options=options or ReadOptions())
