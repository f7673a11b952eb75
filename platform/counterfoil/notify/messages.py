"""What of a Django email message goes to GOV.UK Notify: per recipient, a subject, a plain-text
body and the kind of message (which picks the Notify template)."""

import re
import uuid
from dataclasses import asdict, dataclass
from email.utils import parseaddr
from typing import Any

from django.core.mail import EmailMessage
from django.utils.html import strip_tags

# A message may say what kind it is in this header (the account adapter does, from allauth's
# template name); it is read here and never sent.
KIND_HEADER = "X-Counterfoil-Email-Kind"
_KIND_KEY = KIND_HEADER.lower()
DEFAULT_KIND = "default"

# The platform's own messages that do not say their kind, known by their subjects
# (tenants.actions.invitations, tenants.actions.applications, income.events.notices,
# billing.actions.overdue).
_KINDS_BY_SUBJECT = (
    (re.compile(r"^You are invited to .+ on Counterfoil$"), "invitation"),
    (re.compile(r"^Your application to bring .+ to Counterfoil$"), "application_declined"),
    (re.compile(r"^Counterfoil: event notifications to .+ are paused$"), "endpoint_paused"),
    (re.compile(r"^Counterfoil: invoice .+ is \d+ days overdue$"), "invoice_overdue"),
)


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    body: str
    kind: str
    # Notify's `reference` (ours, no personal data), so a message can be traced in Notify.
    reference: str

    def as_task_argument(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_task_argument(cls, value: dict[str, Any]) -> "OutgoingEmail":
        return cls(**{name: str(value[name]) for name in cls.__dataclass_fields__})


def email_kind(message: EmailMessage) -> str:
    tagged = next(
        (value for name, value in message.extra_headers.items() if name.lower() == _KIND_KEY),
        "",
    )
    if tagged:
        return str(tagged)
    subject = " ".join(str(message.subject).split())
    for pattern, kind in _KINDS_BY_SUBJECT:
        if pattern.match(subject):
            return kind
    return DEFAULT_KIND


def outgoing_emails(message: EmailMessage) -> list[OutgoingEmail]:
    """One email per recipient (Notify sends to one address at a time); cc and bcc included."""
    if message.attachments:
        # Notify sends no attachments; a message that needs one must link to it instead.
        raise ValueError(f"GOV.UK Notify cannot send attachments: {message.subject!r}")
    body = str(message.body)
    if message.content_subtype == "html":
        body = strip_tags(body)
    kind = email_kind(message)
    # Notify takes a bare address ("Name <address>" would be refused as not an address).
    recipients = dict.fromkeys(
        parseaddr(str(address))[1] for address in [*message.to, *message.cc, *message.bcc]
    )
    recipients.pop("", None)
    return [
        OutgoingEmail(
            to=address,
            subject=" ".join(str(message.subject).split()),
            body=body,
            kind=kind,
            reference=f"counterfoil-{kind}-{uuid.uuid4().hex}",
        )
        for address in recipients
    ]
