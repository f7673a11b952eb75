"""Any other CSV of payments, through a saved column mapping that also names the channel."""

from collections.abc import Iterator
from typing import BinaryIO

from income.formats import csv_mapped
from income.formats.csv_mapped import FIELDS, NEEDS_MAPPING, looks_like
from income.formats.records import ReadOptions

NAME = "generic_csv"
TITLE = "Other CSV (with a column mapping)"
CHANNELS = ()


def read(stream: BinaryIO, *, options: ReadOptions | None = None) -> Iterator:
    return csv_mapped.read(stream, options=options, format_name=NAME)


__all__ = ["CHANNELS", "FIELDS", "NAME", "NEEDS_MAPPING", "TITLE", "looks_like", "read"]
