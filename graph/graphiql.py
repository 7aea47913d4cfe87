"""GraphiQL served from the gateway itself: vendored static files, the HTML page and its CSP."""

from html import escape
from pathlib import Path
from typing import Final

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

STATIC_DIR: Final[Path] = Path(__file__).resolve().parent / "static" / "graphiql"
STATIC_PATH: Final = "/static/graphiql"

# The strictest policy under which GraphiQL 3.9 was seen to work in Chromium (see
# tests/test_graphiql_browser.py, which fails on any CSP violation):
# - script-src 'self': every script is a file under STATIC_PATH; no inline script, no eval.
# - style-src 'self': GraphiQL, CodeMirror 5 and React set styles only through the CSSOM
#   (element.style), which CSP does not govern. The one thing blocked is the <style> element that
#   react-remove-scroll injects while a modal dialog (settings, shortcuts) is open, to hide the
#   page's scroll bar; the page never scrolls (page.css), so nothing is lost and 'unsafe-inline'
#   is not needed.
# - font-src / img-src data:: graphiql.min.css embeds its fonts and CodeMirror's lint icons as
#   data: URIs.
# - connect-src 'self': the fetcher POSTs to the gateway's own endpoint only.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; "
    "script-src 'self'; "
    "style-src 'self'; "
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
