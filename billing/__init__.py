"""Billing: each council's share of the platform, collected through Stripe (public schema)."""
