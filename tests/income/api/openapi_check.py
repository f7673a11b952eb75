"""httpx event hooks that check every exchange with our live API against the OpenAPI document
the server itself serves (openapi-core), so a client written to the document is a client that
works."""

from dataclasses import dataclass, field

import httpx
from openapi_core import OpenAPI

from tests.openapi_exchange import OpenAPIRequest, OpenAPIResponse

API_HOST = "http://api"


@dataclass
class DocumentCheck:
    document: dict
    checked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.openapi = OpenAPI.from_dict(self.document)

    def on_request(self, request: httpx.Request) -> None:
        try:
            self.openapi.validate_request(OpenAPIRequest(request, API_HOST))
        except Exception as error:
            self.failures.append(f"request {request.method} {request.url.path}: {error!r}")

    def on_response(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        try:
            self.openapi.validate_response(
                OpenAPIRequest(request, API_HOST), OpenAPIResponse(response)
            )
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
