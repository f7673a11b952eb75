"""Constraints every text input shares, stated in the OpenAPI document so that a client (and
Schemathesis) knows them: one line, no control characters (PostgreSQL refuses a NUL, and a
line break would split an export file's line)."""

ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
# An Idempotency-Key: printable ASCII without spaces, as in the IETF draft's examples.
IDEMPOTENCY_KEY = r"^[!-~]{1,100}$"
RECEIPT_NUMBER = r"^[A-Za-z0-9-]{1,20}$"
FUND_CODE = r"^[A-Za-z0-9_-]{1,5}$"
CHANNEL_CODE = r"^[A-Za-z0-9_-]{1,20}$"
# Pence: positive, and far below PostgreSQL's bigint (a sum of many never overflows).
MAX_PENCE = 10**12
# Ids in paths: positive, within PostgreSQL's bigint.
MAX_ID = 2**63 - 1
