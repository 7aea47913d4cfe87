"""GraphiQL served from the gateway itself: vendored static files, the HTML page and its CSP."""

from html import escape
from pathlib import Path
from typing import Final

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

STATIC_DIR: Final[Path] = Path(__file__).resolve().parent / "static" / "graphiql"
STATIC_PATH: Final = "/static/graphiql"

# The strictest policy under which GraphiQL 3.9.0 works in Chromium without a single CSP violation
# (tests/test_graphiql_browser.py checks that, dialogs included):
# - script-src 'self': every script is a file under STATIC_PATH; no inline script, no eval.
# - style-src 'self' plus one hash, no 'unsafe-inline': React, CodeMirror 5 and Radix set styles
#   through the CSSOM (element.style), which CSP does not govern. The only inline stylesheet is the
#   <style> that react-remove-scroll-bar adds while a dialog (settings, short keys) is open; its
#   text depends only on the page's scroll-bar gap and body margins, which page.css pins to 0, so it
#   is always the same text and is allowed by its hash. If GraphiQL is upgraded and the hash
#   changes, the browser test fails and Chromium's console names the new hash; without it only
#   the (useless here) scroll lock is lost.
# - font-src / img-src data:: graphiql.min.css embeds its fonts and CodeMirror's lint icons as
#   data: URIs (the favicon link is "data:," so the browser does not ask for /favicon.ico).
# - connect-src 'self': the fetcher POSTs to the gateway's own endpoint only, and subscriptions
#   open a WebSocket to it (CSP 3's 'self' covers ws:/wss: of the same host).
# - everything else (frames, objects, workers, forms, base URIs, being framed) is refused.
_SCROLL_LOCK_STYLE_HASH: Final = "'sha256-Y/huXlwoYkVyQlxwSVcCi1RCDGDCSVBzDt0hYP9qlTc='"
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; "
    "script-src 'self'; "
    f"style-src 'self' {_SCROLL_LOCK_STYLE_HASH}; "
    "font-src 'self' data:; "
    "img-src 'self' data:; "
    "connect-src 'self'; "
    "base-uri 'none'; "
    "form-action 'none'; "
    "frame-ancestors 'none'"
)

_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Product gateway · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{static}/graphiql.min.css">
<link rel="stylesheet" href="{static}/page.css">
<script src="{static}/react.production.min.js" defer></script>
<script src="{static}/react-dom.production.min.js" defer></script>
<script src="{static}/graphiql.min.js" defer></script>
<script src="{static}/init.js" defer></script>
</head>
<body>
<div id="graphiql" class="gateway-graphiql-loading" data-endpoint="{endpoint}">
Loading GraphiQL…</div>
<noscript>GraphiQL needs JavaScript. POST GraphQL requests to {endpoint} instead.</noscript>
</body>
</html>
"""


def graphiql_response(endpoint: str = "/graphql") -> HTMLResponse:
    """The GraphiQL page for `endpoint`, with a CSP that allows only the files under STATIC_PATH."""
    page = _PAGE.format(static=STATIC_PATH, endpoint=escape(endpoint, quote=True))
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
        },
    )


def mount_static(app: Starlette) -> None:
    """Serve STATIC_DIR (GraphiQL, React and the page's own files) at STATIC_PATH."""
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="graphiql-static")
