"""Every email the platform sends, through GOV.UK Notify when NOTIFY_API_KEY is set.

`backend.NotifyEmailBackend` is Django's email backend then, so callers keep using
`send_mail` and `EmailMessage.send()`: it turns each message into one `OutgoingEmail` per
recipient and sends the task `counterfoil.send_email_through_notify` for each when the
transaction commits. The task (counterfoil.tasks) calls Notify with the official client
(`delivery`), retries while Notify is down or busy, and records an email Notify refused in the
audit log of the schema it was sent from.
"""
