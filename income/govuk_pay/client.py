"""A GOV.UK Pay public API client over httpx: payments, events, refunds and searches.

Retries with exponential backoff on 429 and 5xx answers and on connection errors and timeouts;
every failure is raised as a typed `GovukPayError`. Payment creation carries an
`Idempotency-Key`, so a retried create never makes two payments; a refund carries GOV.UK Pay's
compare-and-set `refund_amount_available`, so a retried refund never pays twice.
"""

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from income.govuk_pay.scrub import without_cardholder_data

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://publicapi.payments.service.gov.uk"
MAX_DISPLAY_SIZE = 500
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class GovukPayError(Exception):
    """GOV.UK Pay refused or could not answer. `status` is the HTTP status (None: no answer)."""

    def __init__(
        self, message: str, *, status: int | None = None, code: str = "", field: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.field = field


class GovukPayUnavailable(GovukPayError):
    """No usable answer after the retries: 5xx, a timeout or no connection. Try again later."""


class GovukPayRateLimited(GovukPayUnavailable):
    """429 (P0900): too many requests, still after the retries."""


class GovukPayAuthenticationError(GovukPayError):
    """401: the API key is wrong or revoked."""


class GovukPayNotFound(GovukPayError):
    """404: no such payment or refund for this API key (i.e. this GOV.UK Pay service)."""


class GovukPayRequestRejected(GovukPayError):
    """400 or 422: GOV.UK Pay says the request is wrong (`field` says which part, if given)."""


class RefundAmountMismatch(GovukPayError):
    """412: `refund_amount_available` is not what GOV.UK Pay has: someone refunded meanwhile."""


class RefundNotAvailable(GovukPayError):
    """400 P0603/P0604: the payment cannot be refunded (now, or by this amount)."""


def _error_for(response: httpx.Response) -> GovukPayError:
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("code", ""))
    description = str(body.get("description", "")) or response.reason_phrase
    field = str(body.get("field", ""))
    message = f"GOV.UK Pay answered {response.status_code}" + (
        f" ({code}: {description})" if code else f": {description}"
    )
    status = response.status_code
    if status == 401:
        return GovukPayAuthenticationError(message, status=status, code=code)
    if status == 404:
        return GovukPayNotFound(message, status=status, code=code)
    if status == 412:
        return RefundAmountMismatch(message, status=status, code=code)
    if status == 429:
        return GovukPayRateLimited(message, status=status, code=code)
    if status >= 500:
        return GovukPayUnavailable(message, status=status, code=code)
    if code in {"P0603", "P0604"}:
        return RefundNotAvailable(message, status=status, code=code, field=field)
    return GovukPayRequestRejected(message, status=status, code=code, field=field)


def _answer(response: httpx.Response) -> dict[str, Any]:
    """A successful answer's JSON object; anything else is not GOV.UK Pay answering."""
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise GovukPayError(
            f"GOV.UK Pay answered {response.status_code} without a JSON object",
            status=response.status_code,
        )
    return body


class GovukPayClient:
    """One GOV.UK Pay service (one API key)."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        retries: int = 3,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 8.0,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": "Counterfoil (income management for UK councils)",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            event_hooks=dict(event_hooks or {}),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "GovukPayClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- payments -------------------------------------------------------------------------

    def create_payment(
        self,
        *,
        amount: int,
        reference: str,
        description: str,
        return_url: str,
        metadata: Mapping[str, str | int | bool] | None = None,
        language: str = "en",
        email: str | None = None,
        moto: bool = False,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "amount": amount,
            "reference": reference,
            "description": description,
            "return_url": return_url,
            "language": language,
        }
        if metadata:
            body["metadata"] = dict(metadata)
        if email:
            body["email"] = email
        if moto:
            body["moto"] = True
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        return self._request("POST", "/v1/payments", json=body, headers=headers, expect=(201,))

    def get_payment(self, payment_id: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/payments/{payment_id}")

    def payment_events(self, payment_id: str) -> list[dict[str, Any]]:
        return self._request("GET", f"/v1/payments/{payment_id}/events").get("events", [])

    def search_payments_page(
        self, *, page: int = 1, display_size: int = MAX_DISPLAY_SIZE, **filters: str
    ) -> dict[str, Any]:
        params = {key: value for key, value in filters.items() if value not in (None, "")}
        params.update(page=str(page), display_size=str(min(display_size, MAX_DISPLAY_SIZE)))
        return self._request("GET", "/v1/payments", params=params)

    def search_payments(
        self, *, display_size: int = MAX_DISPLAY_SIZE, **filters: str
    ) -> Iterator[dict[str, Any]]:
        """Every payment matching `filters` (from_date, to_date, reference, state…), page by
        page until there is no next page."""
        yield from self._pages(self.search_payments_page, display_size=display_size, **filters)

    # --- refunds --------------------------------------------------------------------------

    def create_refund(
        self, payment_id: str, *, amount: int, refund_amount_available: int
    ) -> dict[str, Any]:
        """Refund `amount` if GOV.UK Pay still has exactly `refund_amount_available` left to
        refund on the payment; otherwise RefundAmountMismatch and nothing is refunded."""
        return self._request(
            "POST",
            f"/v1/payments/{payment_id}/refunds",
            json={"amount": amount, "refund_amount_available": refund_amount_available},
            expect=(200, 202),
        )

    def get_refund(self, payment_id: str, refund_id: str) -> dict[str, Any]:
        return self._request("GET", f"/v1/payments/{payment_id}/refunds/{refund_id}")

    def payment_refunds(self, payment_id: str) -> list[dict[str, Any]]:
        answer = self._request("GET", f"/v1/payments/{payment_id}/refunds")
        return answer.get("_embedded", {}).get("refunds", [])

    def search_refunds_page(
        self, *, page: int = 1, display_size: int = MAX_DISPLAY_SIZE, **filters: str
    ) -> dict[str, Any]:
        params = {key: value for key, value in filters.items() if value not in (None, "")}
        params.update(page=str(page), display_size=str(min(display_size, MAX_DISPLAY_SIZE)))
        return self._request("GET", "/v1/refunds", params=params)

    def search_refunds(
        self, *, display_size: int = MAX_DISPLAY_SIZE, **filters: str
    ) -> Iterator[dict[str, Any]]:
        yield from self._pages(self.search_refunds_page, display_size=display_size, **filters)

    # --- plumbing -------------------------------------------------------------------------

    def _pages(
        self, fetch: Callable[..., dict[str, Any]], *, display_size: int, **filters: str
    ) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            answer = fetch(page=page, display_size=display_size, **filters)
            yield from answer.get("results", [])
            if not (answer.get("_links") or {}).get("next_page") or not answer.get("results"):
                return
            page += 1

    def _request(
        self,
        method: str,
        path: str,
        *,
        expect: tuple[int, ...] = (200,),
        **kwargs: Any,
    ) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TimeoutException as error:
                failure: GovukPayError = GovukPayUnavailable(
                    f"GOV.UK Pay did not answer in time ({type(error).__name__})"
                )
            except httpx.TransportError as error:
                failure = GovukPayUnavailable(f"Could not reach GOV.UK Pay ({error})")
            else:
                if response.status_code in expect:
                    return _answer(response)
                failure = _error_for(response)
                if response.status_code not in RETRYABLE_STATUSES:
                    raise failure
            if attempt >= self.retries:
                raise failure
            delay = min(self.backoff_seconds * 2**attempt, self.max_backoff_seconds)
            delay *= random.uniform(0.5, 1.0)  # jitter, so many callers do not retry in step
            logger.warning(
                "GOV.UK Pay %s %s failed (%s); retrying in %.2fs",
                method,
                path,
                without_cardholder_data(str(failure)),
                delay,
            )
            self._sleep(delay)
            attempt += 1
