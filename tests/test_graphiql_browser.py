"""GraphiQL in headless Chromium, driven over the DevTools Protocol, against `gateway serve`.

Needs Debian's `chromium` package (`apt-get install -y chromium`); without it these tests skip, or
fail when CI=true. Nothing is downloaded: the browser comes from apt, GraphiQL from
graph/transport/static.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from graph.auth import issue
from graph.settings import Settings
from graph.viewer import Role
from tests.support import workload

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT = 30.0

# Runs in every page before its own scripts (DevTools-injected, so the page's CSP does not apply).
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push({
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    sample: event.sample,
    source: event.sourceFile + ":" + event.lineNumber,
  });
});
"""

# CodeMirror 5 renders only the visible lines, so editor contents are read through its API.
EDITOR_VALUE = "(document.querySelector({selector!r})?.CodeMirror?.getValue() ?? null)"
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
VARIABLES_EDITOR = ".graphiql-editor-tool .CodeMirror"
RESULT_EDITOR = ".graphiql-response .CodeMirror"


def _require_chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    reason = f"{CHROMIUM} not found; install Debian's browser with `apt-get install -y chromium`"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser test must run in CI)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no log)"


def _stop(process: "subprocess.Popen[bytes]") -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _poll(check: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    """Call `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


# --- the gateway under test -------------------------------------------------------------------


@dataclass(frozen=True)
class Gateway:
    url: str
    log: Path
    product: dict[str, str]  # slug and name of a product the anonymous viewer can see


def _gateway_command(env: Mapping[str, str], cwd: Path, *args: str) -> None:
    command = [sys.executable, "-m", "graph.cli", *args]
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, timeout=300, check=False)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace")[-4000:]
        pytest.fail(f"`gateway {' '.join(args)}` exited with {done.returncode}:\n{output}")


def _graphql(url: str, query: str) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": query},
        headers={"Accept": "application/graphql-response+json"},
        timeout=TIMEOUT,
        trust_env=False,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


@pytest.fixture(scope="module")
def chromium() -> Path:
    return _require_chromium()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """`gateway migrate`, `seed --products 400` and `serve` on a free port, on a new SQLite file."""
    workdir = tmp_path_factory.mktemp("gateway")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'gateway.db'}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    # The working directory is the temp dir, so a developer's `.env` in the repo is not read.
    _gateway_command(env, workdir, "migrate")
    _gateway_command(env, workdir, "seed", "--products", "400")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "serve.log"
    command = [
        sys.executable,
        "-m",
        "graph.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT
        )
    try:

        def healthy() -> bool:
            if process.poll() is not None:
                pytest.fail(f"`gateway serve` exited with {process.returncode}:\n{_tail(log)}")
            try:
                return httpx.get(f"{url}/healthz", timeout=1, trust_env=False).status_code == 200
            except httpx.TransportError:
                return False

        _poll(healthy, f"GET {url}/healthz to answer 200", timeout=60)
        body = _graphql(url, "{ products(first: 1) { edges { node { id slug name } } } }")
        edges = body["data"]["products"]["edges"]
        assert edges, f"the seeded catalog has no visible products: {body}"
        yield Gateway(url=url, log=log, product=edges[0]["node"])
    finally:
        _stop(process)


# --- the browser ------------------------------------------------------------------------------


class DevToolsError(Exception):
    pass


@dataclass
class DevTools:
    """A minimal Chrome DevTools Protocol client: one browser websocket, flat sessions."""

    connection: ClientConnection
    events: list[dict[str, Any]] = field(default_factory=list)
    last_id: int = 0

    def send(
        self, method: str, params: Mapping[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        self.last_id += 1
        message: dict[str, Any] = {"id": self.last_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        self.connection.send(json.dumps(message))
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply: dict[str, Any] = json.loads(
                self.connection.recv(timeout=max(0.0, deadline - time.monotonic()))
            )
            if reply.get("id") == self.last_id:
                if "error" in reply:
                    raise DevToolsError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply["result"]
                return result
            if "method" in reply:  # an event: kept for the page that asked for it
                self.events.append(reply)


@dataclass
class Page:
    devtools: DevTools
    session: str
    gateway: Gateway

    def send(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.devtools.send(method, params, session=self.session)

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise DevToolsError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def poll(self, check: Callable[[], Any], what: str) -> Any:
        """`_poll`, printing the browser's console and the gateway's log if it times out."""
        try:
            return _poll(check, what)
        except pytest.fail.Exception:
            print(f"browser console:\n{self.console()}\n\ngateway log:\n{_tail(self.gateway.log)}")
            raise

    def wait_for(self, expression: str, what: str) -> Any:
        return self.poll(lambda: self.evaluate(expression), what)

    def events(self, method: str) -> list[dict[str, Any]]:
        return [
            event["params"]
            for event in self.devtools.events
            if event.get("sessionId") == self.session and event["method"] == method
        ]

    def problems(self) -> list[str]:
        """CSP violations, uncaught exceptions and requests that left the gateway's origin."""
        found = [f"CSP violation: {v}" for v in self.evaluate("window.__cspViolations") or []]
        found += [
            f"uncaught: {e['exceptionDetails'].get('exception', {}).get('description')}"
            for e in self.events("Runtime.exceptionThrown")
        ]
        for request in self.events("Network.requestWillBeSent"):
            url: str = request["request"]["url"]
            if not url.startswith((f"{self.gateway.url}/", "data:")):
                found.append(f"request outside the gateway: {url}")
        return found

    def console(self) -> str:
        lines = [
            f"{entry['entry']['level']}: {entry['entry']['text']}"
            for entry in self.events("Log.entryAdded")
        ]
        for call in self.events("Runtime.consoleAPICalled"):
            values = [arg.get("value", arg.get("description")) for arg in call["args"]]
            lines.append(f"console.{call['type']}: {values}")
        return "\n".join(lines) or "(empty)"

    def editor(self, selector: str) -> str | None:
        value: str | None = self.evaluate(EDITOR_VALUE.format(selector=selector))
        return value

    def click(self, selector: str) -> None:
        found = self.evaluate(
            f"(() => {{ const e = document.querySelector({selector!r});"
            " if (!e) return false; e.click(); return true; })()"
        )
        assert found, f"nothing to click at {selector}"


@pytest.fixture(scope="module")
def devtools(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    """Headless Chromium on a fresh profile, its DevTools port read from DevToolsActivePort."""
    workdir = tmp_path_factory.mktemp("chromium")
    profile = workdir / "profile"
    log = workdir / "chromium.log"
    command = [
        str(chromium),
        "--headless",
        "--no-sandbox",  # the tests may run as root in a container
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1024",
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
        "about:blank",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        port_file = profile / "DevToolsActivePort"

        def endpoint() -> str | None:
            if process.poll() is not None:
                pytest.fail(f"chromium exited with {process.returncode}:\n{_tail(log)}")
            lines = port_file.read_text().split() if port_file.exists() else []
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}" if len(lines) >= 2 else None

        with connect(_poll(endpoint, "Chromium's DevTools port"), proxy=None, max_size=None) as ws:
            yield DevTools(ws)
    finally:
        _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def open_page(devtools: DevTools, gateway: Gateway) -> Iterator[Callable[[str], Page]]:
    """Opens `/graphql#<fragment>` in a new tab, in its own browser context (so no storage is
    shared with other tests: GraphiQL keeps its tabs in localStorage), recording what goes wrong."""
    contexts: list[str] = []

    def open_(fragment: str) -> Page:
        context = devtools.send("Target.createBrowserContext")["browserContextId"]
        contexts.append(context)
        target = devtools.send(
            "Target.createTarget", {"url": "about:blank", "browserContextId": context}
        )["targetId"]
        session = devtools.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = Page(devtools, session["sessionId"], gateway)
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(f"{domain}.enable")
        page.send("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_CSP_VIOLATIONS})
        page.send("Page.navigate", {"url": f"{gateway.url}/graphql#{fragment}"})
        page.wait_for(
            "document.readyState === 'complete' && !!document.querySelector("
            "'.graphiql-execute-button')",
            "GraphiQL to render",
        )
        return page

    yield open_
    for context in contexts:
        devtools.send("Target.disposeBrowserContext", {"browserContextId": context})


def _state(query: str, variables: Mapping[str, Any] | None = None) -> str:
    """GraphiQL's editor state as init.js reads it from the address bar's fragment."""
    state = {"query": query}
    if variables is not None:
        state["variables"] = json.dumps(variables)
    return urlencode(state, quote_via=quote)


def _run(page: Page, expect_in_query: str) -> dict[str, Any]:
    """Click GraphiQL's run button once the query is in the editor; the result pane, parsed."""
    page.wait_for(
        f"({EDITOR_VALUE.format(selector=QUERY_EDITOR)} || '').includes({expect_in_query!r})",
        "the query from the URL in the query editor",
    )
    page.click(".graphiql-execute-button")

    def result() -> str | None:
        text = page.editor(RESULT_EDITOR)
        return text if text and text.strip().startswith("{") else None

    text: str = page.poll(result, "a result in GraphiQL's result pane")
    parsed: dict[str, Any] = json.loads(text)
    return parsed


# --- the tests --------------------------------------------------------------------------------


def test_graphiql_page_is_served_with_a_strict_csp(gateway: Gateway) -> None:
    response = httpx.get(
        f"{gateway.url}/graphql", headers={"Accept": "text/html"}, timeout=TIMEOUT, trust_env=False
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self';" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<title>Product gateway · GraphiQL</title>" in response.text
    assets = re.findall(r'(?:src|href)="(/[^"]*)"', response.text)
    assert len(assets) == 6, assets  # 2 stylesheets, React, ReactDOM, GraphiQL, init.js
    for asset in assets:
        served = httpx.get(f"{gateway.url}{asset}", timeout=TIMEOUT, trust_env=False)
        assert served.status_code == 200, asset
        kind = "text/css" if asset.endswith(".css") else "text/javascript"
        assert served.headers["content-type"].startswith(kind), (asset, served.headers)


def test_graphiql_runs_the_product_detail_workload(
    open_page: Callable[[str], Page], gateway: Gateway
) -> None:
    slug, name = gateway.product["slug"], gateway.product["name"]
    page = open_page(_state(workload("W1"), {"slug": slug}))
    assert slug in (page.editor(VARIABLES_EDITOR) or ""), "variables from the URL not in the editor"

    result = _run(page, "query ProductDetail")

    assert "errors" not in result, result
    assert result["data"]["product"]["slug"] == slug
    assert result["data"]["product"]["name"] == name
    shown = page.evaluate("document.querySelector('.graphiql-response').innerText")
    assert name in shown, f"{name!r} is not visible in the result pane: {shown[:500]!r}"

    # The docs explorer shows the schema that GraphiQL introspected through the same fetcher.
    page.click(".graphiql-sidebar button[aria-label='Show Documentation Explorer']")
    query_type = (
        "[...document.querySelectorAll('.graphiql-doc-explorer a.graphiql-doc-explorer-type-name')]"
        ".find((link) => link.innerText === 'Query')"
    )
    page.wait_for(f"!!{query_type}", "the docs explorer to list the Query root type")
    page.evaluate(f"{query_type}.click()")
    page.wait_for(
        "[...document.querySelectorAll('.graphiql-doc-explorer-field-name')]"
        ".some((e) => e.innerText === 'products')",
        "the docs explorer to list Query.products",
    )

    # A dialog makes react-remove-scroll-bar add its <style>, which the CSP allows by hash only.
    page.click(".graphiql-sidebar button[aria-label='Open settings dialog']")
    page.wait_for("!!document.querySelector('[role=dialog]')", "the settings dialog to open")
    page.evaluate(
        "document.activeElement.dispatchEvent("
        "new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))"
    )
    page.wait_for("!document.querySelector('[role=dialog]')", "the settings dialog to close")
    assert page.problems() == [], page.console()


def test_graphiql_shows_error_responses(open_page: Callable[[str], Page]) -> None:
    # A validation error: with application/graphql-response+json the gateway answers 400 with a
    # GraphQL error body, which GraphiQL must show rather than swallow.
    page = open_page(_state('{ product(slug: "x") { noSuchField } }'))

    result = _run(page, "noSuchField")

    assert "data" not in result, result
    assert any("noSuchField" in error["message"] for error in result["errors"]), result
    assert page.problems() == [], page.console()


def _subscribed(gateway: Gateway) -> bool:
    ready = httpx.get(f"{gateway.url}/readyz", timeout=TIMEOUT, trust_env=False).json()
    return bool(ready["dependencies"]["subscriptions"]["subscribers"])


def _rename(gateway: Gateway, name: str) -> None:
    token = issue(Settings(), Role.EDITOR, "graphiql-test", timedelta(minutes=5))
    renamed = httpx.post(
        f"{gateway.url}/graphql",
        json={
            "query": "mutation($id: ID!, $name: String!) { productUpdate(id: $id, "
            "input: {name: $name}) { userErrors { code } } }",
            "variables": {"id": gateway.product["id"], "name": name},
        },
        headers={"authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
        trust_env=False,
    )
    assert renamed.json()["data"]["productUpdate"]["userErrors"] == [], renamed.text


def _event_of_renaming(page: Page, name: str) -> dict[str, Any]:
    """Renames the gateway's product; the productChanged event GraphiQL then shows."""
    _rename(page.gateway, name)

    def event() -> str | None:
        text = page.editor(RESULT_EDITOR)
        return text if text and name in text else None

    result = json.loads(page.poll(event, "the change event in GraphiQL's result pane"))
    changed: dict[str, Any] = result["data"]["productChanged"]
    return changed


SUBSCRIPTION = """subscription Watch($id: ID!) {
  productChanged(id: $id) { kind changedFields product { name } }
}"""


def test_graphiql_runs_a_subscription_over_a_websocket(
    open_page: Callable[[str], Page], gateway: Gateway
) -> None:
    product = gateway.product["id"]
    page = open_page(_state(SUBSCRIPTION, {"id": product}))
    page.wait_for(
        f"({EDITOR_VALUE.format(selector=QUERY_EDITOR)} || '').includes('subscription Watch')",
        "the subscription in the query editor",
    )
    page.click(".graphiql-execute-button")
    _poll(lambda: _subscribed(gateway), "GraphiQL's subscription to reach the gateway")
    assert _event_of_renaming(page, "Seen live") == {
        "kind": "UPDATED",
        "changedFields": ["name"],
        "product": {"name": "Seen live"},
    }
    assert page.problems() == [], page.console()


def test_a_subscription_run_right_after_replacing_the_text_goes_over_the_websocket(
    open_page: Callable[[str], Page], gateway: Gateway
) -> None:
    """GraphiQL parses the editor's text only after a pause, so a Run pressed at once hands
    the fetcher the previous document's AST and operation name: the fetcher must go by the
    text it sends."""
    page = open_page(_state(workload("W1"), {"slug": gateway.product["slug"]}))
    page.wait_for(
        f"({EDITOR_VALUE.format(selector=QUERY_EDITOR)} || '').includes('query ProductDetail')",
        "the query in the query editor",
    )
    page.poll(lambda: not _subscribed(gateway), "no subscriber left from an earlier test")
    page.evaluate(
        f"document.querySelector({QUERY_EDITOR!r}).CodeMirror.setValue("
        "'subscription { productChanged { kind product { name } } }');"
        "document.querySelector('.graphiql-execute-button').click();"
    )
    page.poll(lambda: _subscribed(gateway), "GraphiQL's subscription to reach the gateway")
    assert _event_of_renaming(page, "Seen at once") == {
        "kind": "UPDATED",
        "product": {"name": "Seen at once"},
    }
    posts = [
        request["request"]
        for request in page.events("Network.requestWillBeSent")
        if request["request"]["method"] == "POST"
        and "productChanged" in request["request"].get("postData", "")
    ]
    assert posts == [], "the subscription was POSTed"
    assert page.problems() == [], page.console()
