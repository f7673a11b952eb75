"""Any other CSV of payments, through a saved column mapping that also names the channel."""

from income.formats.csv_mapped import FIELDS, NEEDS_MAPPING, looks_like, read

NAME = "generic_csv"
TITLE = "Other CSV (with a column mapping)"
CHANNELS = ()

__all__ = ["CHANNELS", "FIELDS", "NAME", "NEEDS_MAPPING", "TITLE", "looks_like", "read"]
