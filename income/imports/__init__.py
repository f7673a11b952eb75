"""Importing payment files: storing them, reading them in the background, allocating their
lines set-wise in SQL and posting them to the ledger, all or nothing."""
