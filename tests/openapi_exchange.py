"""An httpx request and response as openapi-core reads them, for checking an exchange against an
OpenAPI document (GOV.UK Pay's, for our client; ours, for the API)."""

from urllib.parse import parse_qs

import httpx
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict


class OpenAPIRequest:
    def __init__(self, request: httpx.Request, host_url: str) -> None:
        self.request = request
        self.host_url = host_url
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


class OpenAPIResponse:
    def __init__(self, response: httpx.Response, default_content_type: str = "") -> None:
        self.status_code = response.status_code
        self.headers = Headers(dict(response.headers))
        self.data = response.content or None
        self.content_type = response.headers.get("content-type", default_content_type).lower()
