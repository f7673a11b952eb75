"""A local stand-in for GOV.UK Notify's API, for the tests and the demo (real HTTP on 127.0.0.1).

It answers `POST /v2/notifications/email` as Notify does for the official clients:

- authentication: `Authorization: Bearer <JWT>`, the JWT signed HS256 with the secret of an
  API key (`<name>-<service id>-<secret>`), `iss` the service id, `iat` within 30 seconds of
  the server's clock. Anything else is refused as Notify refuses it: 401 without a bearer
  token, 403 `AuthError` for an unknown service, a bad signature or a stale `iat`;
- the body: `email_address` and `template_id` required, `personalisation`, `reference`,
  `email_reply_to_id` and `one_click_unsubscribe_url` optional, nothing else (400
  `ValidationError`); the template must be the service's (400 `BadRequestError: Template not
  found`) and every placeholder of it personalised (400 `Missing personalisation: ...`);
- success: 201 with the notification's id, reference, rendered content, uri and template.

Errors are `{"status_code": ..., "errors": [{"error": ..., "message": ...}]}`. Every accepted
notification is recorded (`notifications`). Faults for tests: `fail_next(count, status)`
answers 500 (or 429, 503...) to the next requests that pass authentication; `refuse_recipient`
answers 400 for an address every time, as a trial-mode service does for one not on its list.

Run alone: `python -m tests.standins.notify_server --port 8112` (prints an API key and a
template id to set as NOTIFY_API_KEY and NOTIFY_TEMPLATE_IDS=default=<id>).
"""

import argparse
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

# Notify accepts tokens issued up to 30 seconds either side of its clock.
IAT_BOUND_SECONDS = 30
EMAIL_FIELDS = {
    "email_address", "template_id", "personalisation", "reference", "email_reply_to_id",
    "one_click_unsubscribe_url",
}  # fmt: skip
PLACEHOLDER = re.compile(r"\(\(([^()]+?)\)\)")
# What Notify answers; the messages are those Notify's documentation lists.
CLOCK_MESSAGE = "Error: Your system clock must be accurate to within 30 seconds"
TRIAL_MODE_MESSAGE = (
    "Can't send to this recipient when service is in trial mode - see "
    "https://www.notifications.service.gov.uk/trial-mode"
)
TEMPORARY_ERRORS = {
    429: (
        "RateLimitError",
        "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds",
    ),
    500: ("Exception", "Internal server error"),
    502: ("Exception", "Bad gateway"),
    503: ("Exception", "Service unavailable"),
}  # fmt: skip


@dataclass
class Template:
    id: str
    subject: str = "((subject))"
    body: str = "((body))"
    version: int = 1

    def placeholders(self) -> list[str]:
        return list(dict.fromkeys(PLACEHOLDER.findall(self.subject + self.body)))


@dataclass
class Notification:
    id: str
    service_id: str
    email_address: str
    template_id: str
    personalisation: dict[str, Any]
    reference: str | None
    email_reply_to_id: str | None
    subject: str
    body: str


@dataclass
class NotifyStandin:
    server: ThreadingHTTPServer
    # service id -> its API keys' secrets (a service may have several keys)
    services: dict[str, list[str]] = field(default_factory=dict)
    templates: dict[str, Template] = field(default_factory=dict)
    notifications: list[Notification] = field(default_factory=list)
    # Every POST answered, with its status: what a test counts to prove "not retried".
    answered: list[int] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    refused_recipients: dict[str, str] = field(default_factory=dict)
    # The first service's API key (add_service).
    api_key: str = ""
    # Run alone (the demo): print each email as it is accepted.
    echo: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add_service(self, *, key_name: str = "counterfoil") -> str:
        """A new service with one API key; returns the key as Notify shows it."""
        service_id, secret = str(uuid.uuid4()), str(uuid.uuid4())
        api_key = f"{key_name}-{service_id}-{secret}"
        with self.lock:
            self.services[service_id] = [secret]
            self.api_key = self.api_key or api_key
        return api_key

    def add_template(self, template_id: str | None = None, **fields: Any) -> Template:
        template = Template(id=template_id or str(uuid.uuid4()), **fields)
        with self.lock:
            self.templates[template.id] = template
        return template

    def fail_next(self, count: int, status: int = 500) -> None:
        with self.lock:
            self.failures.extend([status] * count)

    def refuse_recipient(self, email_address: str, message: str = TRIAL_MODE_MESSAGE) -> None:
        with self.lock:
            self.refused_recipients[email_address.lower()] = message

    def sent_to(self, email_address: str) -> list[Notification]:
        with self.lock:
            return [n for n in self.notifications if n.email_address == email_address]

    def reset(self) -> None:
        with self.lock:
            self.notifications.clear()
            self.answered.clear()
            self.failures.clear()
            self.refused_recipients.clear()

    # --- the API --------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> tuple[int, str, str] | str:
        """The service id a request's token proves, or (status, error, message)."""
        if not authorization:
            return 401, "AuthError", "Unauthorized: authentication token must be provided"
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or not token:
            return 401, "AuthError", "Unauthorized: authentication bearer scheme must be used"
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return 403, "AuthError", "Invalid token: signature, api token not found"
        if header.get("alg") != "HS256":
            return 403, "AuthError", "Invalid token: algorithm used is not HS256"
        service_id = claims.get("iss")
        if not service_id:
            return 403, "AuthError", "Invalid token: iss field not provided"
        with self.lock:
            secrets_ = list(self.services.get(str(service_id), []))
        if not secrets_:
            return 403, "AuthError", "Invalid token: service not found"
        verified = None
        for secret in secrets_:
            try:
                verified = jwt.decode(
                    token, key=secret, algorithms=["HS256"], options={"verify_iat": False}
                )
                break
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError:
                return 403, "AuthError", "Invalid token: signature, api token not found"
        if verified is None:
            return 403, "AuthError", "Invalid token: API key not found"
        if "iat" not in verified:
            return 403, "AuthError", "Invalid token: iat field not provided"
        try:
            issued_at = int(verified["iat"])
        except (TypeError, ValueError):
            return 403, "AuthError", CLOCK_MESSAGE
        if abs(time.time() - issued_at) > IAT_BOUND_SECONDS:
            return 403, "AuthError", CLOCK_MESSAGE
        return str(service_id)

    def send_email(self, service_id: str, payload: Any) -> tuple[int, dict[str, Any]]:
        problem = _invalid_email_request(payload)
        if problem:
            return _error(400, "ValidationError", problem)
        with self.lock:
            template = self.templates.get(payload["template_id"])
            refusal = self.refused_recipients.get(payload["email_address"].lower())
        if template is None:
            return _error(400, "BadRequestError", "Template not found")
        personalisation = payload.get("personalisation") or {}
        missing = [name for name in template.placeholders() if name not in personalisation]
        if missing:
            return _error(400, "BadRequestError", f"Missing personalisation: {', '.join(missing)}")
        if refusal:
            return _error(400, "BadRequestError", refusal)

        def render(text: str) -> str:
            return PLACEHOLDER.sub(lambda m: str(personalisation[m.group(1)]), text)

        notification = Notification(
            id=str(uuid.uuid4()),
            service_id=service_id,
            email_address=payload["email_address"],
            template_id=template.id,
            personalisation=personalisation,
            reference=payload.get("reference"),
            email_reply_to_id=payload.get("email_reply_to_id"),
            subject=render(template.subject),
            body=render(template.body),
        )
        with self.lock:
            self.notifications.append(notification)
        if self.echo:
            print(
                f"--- to {notification.email_address} (template {template.id})\n"
                f"{notification.subject}\n\n{notification.body}\n",
                flush=True,
            )
        return 201, {
            "id": notification.id,
            "reference": notification.reference,
            "content": {
                "subject": notification.subject,
                "body": notification.body,
                "from_email": "counterfoil@notifications.service.gov.uk",
                "one_click_unsubscribe_url": payload.get("one_click_unsubscribe_url"),
            },
            "uri": f"{self.url}/v2/notifications/{notification.id}",
            "template": {
                "id": template.id,
                "version": template.version,
                "uri": f"{self.url}/services/{service_id}/templates/{template.id}",
            },
        }

    def take_failure(self) -> int | None:
        with self.lock:
            return self.failures.pop(0) if self.failures else None


def _error(status: int, error: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"status_code": status, "errors": [{"error": error, "message": message}]}


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _invalid_email_request(payload: Any) -> str:
    """Notify's ValidationError message for a bad body, or ''."""
    if not isinstance(payload, dict):
        return "Invalid JSON supplied in POST data"
    for name in ("email_address", "template_id"):
        if name not in payload:
            return f"{name} is a required property"
    unexpected = sorted(set(payload) - EMAIL_FIELDS)
    if unexpected:
        return f"Additional properties are not allowed ({', '.join(unexpected)} was unexpected)"
    address = payload["email_address"]
    if not isinstance(address, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
        return "email_address Not a valid email address"
    if not _is_uuid(payload["template_id"]):
        return "template_id is not a valid UUID"
    if "personalisation" in payload and not isinstance(payload["personalisation"], dict):
        return "personalisation is not of type object"
    if payload.get("reference") is not None and not isinstance(payload["reference"], str):
        return "reference is not of type string"
    reply_to = payload.get("email_reply_to_id")
    if reply_to is not None and not _is_uuid(reply_to):
        return "email_reply_to_id is not a valid UUID"
    return ""


class _Handler(BaseHTTPRequestHandler):
    standin: NotifyStandin
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        standin = self.standin
        if self.path.rstrip("/") != "/v2/notifications/email":
            self._answer(*_error(404, "ResourceNotFound", "Not found"))
            return
        authenticated = standin.authenticate(self.headers.get("Authorization"))
        if isinstance(authenticated, tuple):
            self._answer(*_error(*authenticated))
            return
        failure = standin.take_failure()
        if failure is not None:
            error, message = TEMPORARY_ERRORS.get(failure, ("Exception", "Internal server error"))
            self._answer(*_error(failure, error, message))
            return
        try:
            payload = json.loads(raw)
        except ValueError:
            self._answer(*_error(400, "ValidationError", "Invalid JSON supplied in POST data"))
            return
        self._answer(*standin.send_email(authenticated, payload))

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        with self.standin.lock:
            self.standin.answered.append(status)
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@contextmanager
def notify_server(port: int = 0) -> Iterator[NotifyStandin]:
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    standin = NotifyStandin(server)
    handler.standin = standin
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8112)
    arguments = parser.parse_args()
    with notify_server(arguments.port) as standin:
        api_key = standin.add_service()
        template = standin.add_template()
        print(f"GOV.UK Notify stand-in on {standin.url}", flush=True)
        print(f"NOTIFY_BASE_URL={standin.url}", flush=True)
        print(f"NOTIFY_API_KEY={api_key}", flush=True)
        print(f"NOTIFY_TEMPLATE_IDS=default={template.id}", flush=True)
        standin.echo = True
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
