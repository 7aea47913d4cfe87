"""Browsers on other origins: CORS for the pages in CORS_ORIGINS, and the same list for WebSocket
upgrades, which browsers open from any page without asking the server first."""

from collections.abc import Sequence
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Message, Receive, Scope, Send

from graph.settings import ANY_ORIGIN

METHODS = ("GET", "POST", "OPTIONS")
# What browser GraphQL clients add: Apollo Client's CSRF-prevention header, operation name and
# client awareness, and a tracing id. content-type because application/json is not one of the
# types a browser sends without asking.
HEADERS = (
    "authorization",
    "content-type",
    "accept",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "apollographql-client-name",
    "apollographql-client-version",
    "x-request-id",
)
MAX_AGE_SECONDS = 600


class ListedOriginsCORS(CORSMiddleware):
    """Starlette's CORS, but a preflight from an origin not on the list reaches the app and is
    answered as if CORS were off (405 with Allow), without CORS headers that suggest otherwise."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not self.is_allowed_origin(origin=origin):
                # Still marks the response as varying by Origin, for caches.
                await self.simple_response(scope, receive, send, request_headers=headers)
                return
        await super().__call__(scope, receive, send)


def vary_on_origin(send: Send) -> Send:
    """`send`, adding Origin to every response's Vary, as the CORS middleware does to requests
    without an Origin when CORS is on: a shared cache must not give a browser page the copy
    a server-side client got (without Access-Control-Allow-Origin)."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
        await send(message)

    return sending


def add_cors(app: FastAPI, origins: Sequence[str]) -> None:
    """Credentials stay off: tokens travel in the Authorization header, which needs none, and
    the gateway reads no cookies that another origin's page should be able to send."""
    if not origins:
        return
    app.add_middleware(
        ListedOriginsCORS,
        allow_origins=list(origins),
        allow_methods=METHODS,
        allow_headers=HEADERS,
        allow_credentials=False,
        max_age=MAX_AGE_SECONDS,
    )


def upgrade_allowed(origins: Sequence[str], headers: Headers) -> bool:
    """A browser page on an origin that is not listed may not open a WebSocket. Clients that
    send no Origin (anything but a browser) and the gateway's own pages (GraphiQL) may."""
    origin = headers.get("origin")
    if not origins or ANY_ORIGIN in origins or origin is None:
        return True
    origin = origin.strip().lower()
    authority = urlsplit(origin).netloc
    return origin in origins or (authority != "" and authority == headers.get("host", "").lower())
