"""Bank statement CSV exports, through the council's saved column mapping."""

from collections.abc import Iterator
from typing import BinaryIO

from income.formats import csv_mapped
from income.formats.csv_mapped import FIELDS, NEEDS_MAPPING, looks_like
from income.formats.records import ChannelSpec, ReadOptions

NAME = "bank_csv"
TITLE = "Bank statement CSV (with a column mapping)"
CHANNELS = (ChannelSpec("BANK", "Bank transfer", "bank_transfer"),)


def read(stream: BinaryIO, *, options: ReadOptions | None = None) -> Iterator:
    return csv_mapped.read(stream, options=options, format_name=NAME)


__all__ = ["CHANNELS", "FIELDS", "NAME", "NEEDS_MAPPING", "TITLE", "looks_like", "read"]
