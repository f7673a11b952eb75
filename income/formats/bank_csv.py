"""Bank statement CSV exports, through the council's saved column mapping."""

from income.formats.csv_mapped import FIELDS, NEEDS_MAPPING, looks_like, read
from income.formats.records import ChannelSpec

NAME = "bank_csv"
TITLE = "Bank statement CSV (with a column mapping)"
CHANNELS = (ChannelSpec("BANK", "Bank transfer", "bank_transfer"),)

__all__ = ["CHANNELS", "FIELDS", "NAME", "NEEDS_MAPPING", "TITLE", "looks_like", "read"]
