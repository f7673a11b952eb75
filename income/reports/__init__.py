"""The reports a finance team runs every day and at month-end, one module per report; each
builds a `Report` (income.reports.report) for a period, shown on screen, as CSV and printed."""
