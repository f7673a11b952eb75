"""GOV.UK Pay: connecting a council (connections), taking payments and applying what GOV.UK
Pay says happened to them (payments), webhooks, refunds sent back, settlement into the bank,
and the mop-up that catches whatever webhooks missed; one module each.

Every way GOV.UK Pay tells us about a payment (the payer coming back, a webhook, the mop-up)
ends in `payments.apply_payment_resource`, which is idempotent on the payment id and its
state: a payment only moves forward, and its receipt is recorded once, under
`govukpay:<payment id>`.
"""
