"""Tokens from the command line, the production secret guard, what editors may see, and tokens
signed with the right secret whose claims are anything at all: refused, never a 500."""

import asyncio
import base64
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import ValidationError

from graph import ids
from graph.settings import DEVELOPMENT_SECRET, Settings
from tests.conftest import seeded, serving
from tests.servers import GatewayServer, embedded_gateway
from tests.subscribing import init_outcome
from tests.support import Api
from tests.test_mutations_products import create

SECRET = "s" * 40


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(environment="production", jwt_secret=DEVELOPMENT_SECRET)
    with pytest.raises(ValidationError, match="32 characters"):
        Settings(jwt_secret="short")
    assert Settings(environment="production", jwt_secret=SECRET).jwt_secret == SECRET


def gateway(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graph.cli", *args], capture_output=True, text=True, check=False
    )


async def test_gateway_token_mints_a_working_token(write_client: httpx.AsyncClient) -> None:
    minted = await asyncio.to_thread(
        gateway, "token", "--role", "admin", "--ttl", "5m", "--subject", "cli-user"
    )
    assert minted.returncode == 0, minted.stderr
    admin = Api(write_client, minted.stdout.strip())
    assert (await admin.query("{ changes(first: 1) { totalCount } }")).errors == []
    bad = await asyncio.to_thread(gateway, "token", "--role", "admin", "--ttl", "soon")
    assert bad.returncode != 0
    assert "90s" in bad.stderr
    # Whatever the command mints, the gateway accepts: no token it would refuse, no traceback.
    for refused, reason in ((("--subject", ""), "subject"), (("--ttl", "99999999d"), "9999")):
        minted = await asyncio.to_thread(gateway, "token", "--role", "admin", *refused)
        assert (minted.returncode, reason in minted.stderr) == (2, True), minted.stderr
        assert "Traceback" not in minted.stderr


async def test_editors_see_drafts_everywhere_anonymous_viewers_nowhere(
    editor: Api, anonymous: Api
) -> None:
    draft = await create(editor, categoryId=ids.encode("Category", 12))
    listing = """query($c: ID) { products(first: 100, filter: {categoryId: $c, status: [DRAFT]}) {
      edges { node { id } } } category(id: $c) { productCount
      products(first: 100) { edges { node { id } } } } }"""
    node = "query($id: ID!) { node(id: $id) { id } }"
    lookup = "query($s: String) { product(slug: $s) { id } }"
    variables = {"c": ids.encode("Category", 12)}
    staff = (await editor.query(listing, variables)).data
    public = (await anonymous.query(listing, variables)).data
    assert draft["id"] in [e["node"]["id"] for e in staff["products"]["edges"]]
    assert draft["id"] in [e["node"]["id"] for e in staff["category"]["products"]["edges"]]
    assert staff["category"]["productCount"] == public["category"]["productCount"] + sum(
        1
        for e in staff["category"]["products"]["edges"]
        if e["node"]["id"] not in {n["node"]["id"] for n in public["category"]["products"]["edges"]}
    )
    assert public["products"]["edges"] == []
    assert draft["id"] not in [e["node"]["id"] for e in public["category"]["products"]["edges"]]
    assert (await editor.query(node, {"id": draft["id"]})).data["node"] == {"id": draft["id"]}
    assert (await anonymous.query(node, {"id": draft["id"]})).data["node"] is None
    assert (await editor.query(lookup, {"s": draft["slug"]})).data["product"] is not None
    assert (await anonymous.query(lookup, {"s": draft["slug"]})).data["product"] is None


NOW = int(time.time())
READ = "{ products(first: 1) { totalCount } }"
YEAR_10000 = 253_402_300_800  # the first second datetime cannot hold
VALID = {"sub": "fuzz@example.com", "role": "editor", "exp": NOW + 3600}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats()  # NaN and the infinities too: PyJWT writes and reads them
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
instants = (
    st.integers(NOW + 60, NOW + 10**8)
    | st.integers(-(10**30), 10**30)
    | st.floats()
    | st.sampled_from([YEAR_10000, -YEAR_10000, 1e308, -1e308, f"{NOW + 3600}"])
    | json_values
)
subjects = st.text(max_size=300) | st.sampled_from(["x" * 256, "\x00", " "]) | json_values
roles = st.sampled_from(["editor", "admin", "anonymous", "Editor", ""]) | json_values


@st.composite
def claim_sets(draw: st.DrawFn) -> dict[str, Any]:
    """exp, sub and role (now and then one is missing), perhaps nbf, iat and others."""
    claims = draw(
        st.fixed_dictionaries(
            {"exp": instants, "sub": subjects, "role": roles},
            optional={"nbf": instants, "iat": instants, "jti": json_values, "aud": json_values},
        )
    )
    missing = draw(st.sampled_from([None, "exp", "sub", "role"]))
    return {name: value for name, value in claims.items() if name != missing}


def sign(claims: dict[str, Any], secret: str) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def sign_raw(payload: bytes, secret: str) -> str:
    """A payload PyJWT would not write itself (too deep, numbers too long), correctly signed."""
    return jwt.api_jws.encode(payload, secret, algorithm="HS256")


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def app_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process over a small SQLite catalog: tokens are checked before any query."""
    directory = tmp_path_factory.mktemp("tokens")
    settings = await seeded(f"sqlite+aiosqlite:///{directory / 'gateway.db'}", 30)
    async with serving(settings) as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GatewayServer]:
    async with embedded_gateway(tmp_path_factory.mktemp("tokens-ws")) as started:
        yield started


async def answer_with(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(
        "/graphql", json={"query": READ}, headers={"authorization": f"Bearer {token}"}
    )


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "claims",
    [
        {**VALID, "exp": YEAR_10000 + 1},
        {**VALID, "exp": 1e308},
        {**VALID, "exp": -1e308},
        {**VALID, "exp": f"{NOW + 3600}"},
        {**VALID, "exp": True},
        {**VALID, "exp": None},
        {**VALID, "exp": [NOW + 3600]},
        {**VALID, "exp": float("nan")},
        {**VALID, "exp": float("inf")},
        {**VALID, "nbf": 1e308},
        {**VALID, "nbf": -1e308},
        {**VALID, "nbf": "0"},
        {**VALID, "iat": -(10**30)},
        {**VALID, "iat": False},
        {**VALID, "sub": ""},
        {**VALID, "sub": "x" * 256},
        {**VALID, "sub": "nul\x00byte"},
        {**VALID, "sub": "\ud800"},
        {**VALID, "sub": 7},
        {**VALID, "sub": ["a"]},
        {**VALID, "role": ["editor"]},
        {**VALID, "role": {"editor": True}},
        {**VALID, "role": "anonymous"},
        {**VALID, "role": None},
        {key: value for key, value in VALID.items() if key != "exp"},
    ],
    ids=repr,
)
async def test_malformed_claims_are_unauthenticated(
    app_client: httpx.AsyncClient, claims: dict[str, Any]
) -> None:
    assert_refused(await answer_with(app_client, sign(claims, Settings().jwt_secret)))


async def test_payloads_no_encoder_writes_are_unauthenticated(
    app_client: httpx.AsyncClient,
) -> None:
    secret = Settings().jwt_secret
    deep = b"[" * 100_000 + b"]" * 100_000
    for payload in (
        b'{"sub": "a", "role": "editor", "exp": 1e400}',  # read as infinity
        b'{"sub": "a", "role": "editor", "exp": 1' + b"0" * 5_000 + b"}",
        b'{"sub": "a", "role": "editor", "exp": ' + deep + b"}",
    ):
        assert_refused(await answer_with(app_client, sign_raw(payload, secret)))
    header = b64(b'{"alg": "HS256", "x": ' + deep[:20_000] + b"}")
    assert_refused(await answer_with(app_client, f"{header}.{b64(b'{}')}.c2ln"))  # unsigned


async def test_a_valid_token_still_signs_in(app_client: httpx.AsyncClient) -> None:
    for claims in (VALID, {**VALID, "exp": NOW + 3600.5, "nbf": NOW - 10, "iat": NOW}):
        response = await answer_with(app_client, sign(claims, Settings().jwt_secret))
        assert response.status_code == 200, response.text


@hypothesis_settings(
    max_examples=150,
    derandomize=True,  # the same examples on every run, so CI is deterministic
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(claims=claim_sets())
@example(claims={**VALID, "exp": YEAR_10000 + 1})
async def test_no_claims_make_a_500(app_client: httpx.AsyncClient, claims: dict[str, Any]) -> None:
    response = await answer_with(app_client, sign(claims, Settings().jwt_secret))
    assert response.status_code in (200, 401), response.text
    event(f"HTTP {response.status_code}")
    if response.status_code == 401:
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    else:
        assert claims["role"] in ("editor", "admin")
        assert "errors" not in response.json()


@hypothesis_settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(claims=claim_sets())
@example(claims={**VALID, "exp": YEAR_10000 + 1})
@example(claims=VALID)
async def test_no_claims_break_a_websocket(server: GatewayServer, claims: dict[str, Any]) -> None:
    """Refused with graphql-transport-ws's 4403, never an abrupt 1006 or an internal 1011."""
    token = sign(claims, Settings().jwt_secret)
    outcome = await init_outcome(server.ws_url, {"authorization": f"Bearer {token}"})
    assert outcome in ("ack", 4403)
    event(f"WebSocket {outcome}")
