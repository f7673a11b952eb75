"""httpx event hooks that check every exchange with our live API against the OpenAPI document
the server itself serves (openapi-core), so a client written to the document is a client that
works."""

from dataclasses import dataclass, field
from urllib.parse import parse_qs

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict


class _Request:
    host_url = "http://api"

    def __init__(self, request: httpx.Request) -> None:
        self.request = request
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(request.url.query.decode())),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )

    @property
    def path(self) -> str:
        return self.request.url.path

    @property
    def method(self) -> str:
        return self.request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self.request.content or None

    @property
    def content_type(self) -> str:
        return self.request.headers.get("content-type", "").lower()


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.headers = Headers(dict(response.headers))
        self.data = response.content or None
        self.content_type = response.headers.get("content-type", "").lower()


@dataclass
class DocumentCheck:
    document: dict
    checked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.openapi = OpenAPI.from_dict(self.document)

    def on_request(self, request: httpx.Request) -> None:
        try:
            self.openapi.validate_request(_Request(request))
        except Exception as error:
            self.failures.append(f"request {request.method} {request.url.path}: {error!r}")

    def on_response(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        try:
            self.openapi.validate_response(_Request(request), _Response(response))
        except Exception as error:
            cause = getattr(error, "__cause__", None)
            self.failures.append(
                f"response {response.status_code} to {request.method} {request.url.path}: "
                f"{error!r} {cause!r}"
            )
        self.checked.append(f"{request.method} {request.url.path} {response.status_code}")

    @property
    def hooks(self) -> dict[str, list]:
        return {"request": [self.on_request], "response": [self.on_response]}
