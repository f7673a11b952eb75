"""Exports to back-office systems: the layouts (CSV or fixed width) and how a file is made."""
