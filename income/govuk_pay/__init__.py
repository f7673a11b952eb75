"""GOV.UK Pay: the API client, webhook signatures, the apply step and a local stand-in.

Contract: GOV.UK Pay's published OpenAPI description (a copy is in tests/fixtures/govuk_pay,
which the tests validate against) and the facts in ../shared/reference/govuk-pay/README.md.
"""
