"""`gateway` as an operator meets it: a misconfiguration ends a command with one line that says
the fix and exit code 2, never a traceback; `gateway check` reports; `seed` shows progress.

A few refusals run as real processes (nothing else may reach the terminal); the rest call
`main()` in this process, since each process spends a second or more importing."""

import argparse
import asyncio
import io
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from alembic.script import ScriptDirectory

from db.engine import create_unpooled_engine
from db.migrate import alembic_config, upgrade
from graph.cli import main, parser
from graph.progress import TerminalProgress
from graph.settings import Settings
from tests.celery_support import ROOT, Worker, free_port, private_redis
from tests.conftest import POSTGRES_ADMIN_DSN, unavailable
from tests.servers import GatewayServer

# Variables a developer's shell may hold that would change what a command sees.
SETTINGS_VARIABLES = {name.upper() for name in Settings.model_fields}
USE = "use postgresql://user@host:5432/name or sqlite:///path/to/file.db"


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


def gateway(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> Outcome:
    """`gateway ARGS` as a process in `cwd` (no .env there), with only `env` for settings."""
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    clean["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "graph.cli", *args],
        env={**clean, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


Main = Callable[[list[str], Mapping[str, str]], Outcome]


@pytest.fixture
def in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Main:
    """`main(args)` here, in `tmp_path`, with only `env` for settings."""

    def run(args: list[str], env: Mapping[str, str]) -> Outcome:
        with monkeypatch.context() as patched:
            patched.chdir(tmp_path)
            for name in SETTINGS_VARIABLES:
                patched.delenv(name, raising=False)
            for name, value in env.items():
                patched.setenv(name, value)
            capsys.readouterr()
            try:
                main(args)
                code = 0
            except SystemExit as exit_:
                code = int(exit_.code or 0)
            printed = capsys.readouterr()
        return Outcome(code, printed.out, printed.err)

    return run


def refusal(done: Outcome) -> str:
    """The one line a refused command printed; fails on anything else."""
    assert (done.code, done.stdout) == (2, ""), done
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'gateway.db'}"


def example_env() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def postgres_up() -> str:
    """The test PostgreSQL's host:port, once it answers."""

    async def ping() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=3)
        await connection.close()

    try:
        asyncio.run(ping())
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_DSN}: {error}")
    return POSTGRES_ADMIN_DSN.split("@", 1)[1].rsplit("/", 1)[0]


def test_refusals_are_one_line_from_a_real_process(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    runs = [
        (["migrate"], {"DATABASE_URL": "postgresq://postgres:hunter2@127.0.0.1/gateway"}),
        (["seed"], {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/gateway"}),
        (
            ["worker"],
            {
                "DATABASE_URL": sqlite_url(tmp_path),
                "CELERY_BROKER_URL": f"redis://127.0.0.1:{port}",
            },
        ),
    ]
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        typo, down, broker = pool.map(lambda run: gateway(tmp_path, *run[0], env=run[1]), runs)
    assert refusal(typo) == (
        "gateway migrate: invalid settings: DATABASE_URL: 'postgresq' is not supported "
        f"(PostgreSQL and SQLite are); {USE}"
    )
    assert refusal(down) == (
        f"gateway seed: cannot reach PostgreSQL at 127.0.0.1:{port}: connection refused; "
        "is it running? set DATABASE_URL"
    )
    assert refusal(broker) == (
        f"gateway worker: cannot reach the broker at 127.0.0.1:{port}: connection refused; "
        "is it running? set CELERY_BROKER_URL"
    )


def test_serve_starts_without_its_database_and_says_so_in_one_line(tmp_path: Path) -> None:
    """The gateway serves on through a database outage (see test_database_outage.py), so it
    starts during one too; what it cannot reach is said once, without a traceback."""
    port = free_port()
    env = {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/gateway", "REDIS_URL": ""}
    server = GatewayServer(env, tmp_path / "serve.log")
    server.stop()
    log = (tmp_path / "serve.log").read_text()
    assert log.splitlines()[0] == (
        f"gateway serve: cannot reach PostgreSQL at 127.0.0.1:{port}: connection refused; "
        "is it running? set DATABASE_URL; starting anyway"
    )
    assert "Traceback" not in log


def test_settings_the_gateway_cannot_run_with_are_refused(tmp_path: Path, in_process: Main) -> None:
    cases: dict[str, tuple[list[str], dict[str, str], str]] = {
        "another database": (
            ["migrate"],
            {"DATABASE_URL": "mysql://root:hunter2@127.0.0.1/gateway"},
            "gateway migrate: invalid settings: DATABASE_URL: 'mysql' is not supported "
            f"(PostgreSQL and SQLite are); {USE}",
        ),
        "a port that is no number": (
            ["serve"],
            {"DATABASE_URL": "postgresql://postgres:hunter2@127.0.0.1:54x2/gateway"},
            "gateway serve: invalid settings: DATABASE_URL "
            "'postgresql+asyncpg://postgres:***@127.0.0.1:54x2/gateway': the port is not a number",
        ),
        "no URL at all": (
            ["seed"],
            {"DATABASE_URL": "127.0.0.1:5432/gateway"},
            f"gateway seed: invalid settings: DATABASE_URL '127.0.0.1:5432/gateway' is not a "
            f"URL; {USE}",
        ),
        "a short JWT_SECRET": (
            ["token", "--role", "admin"],
            {"JWT_SECRET": "short"},
            "gateway token: invalid settings: JWT_SECRET must be at least 32 characters; "
            "make one with openssl rand -hex 32",
        ),
        "production with .env.example's placeholder secret": (
            ["serve"],
            {"ENVIRONMENT": "production", "JWT_SECRET": example_env()["JWT_SECRET"]},
            "gateway serve: invalid settings: set JWT_SECRET to a random secret (openssl rand "
            "-hex 32): production refuses the development secret and placeholders",
        ),
        "two settings at once": (
            ["serve"],
            {"PORT": "eighty", "CORS_ORIGINS": "ftp://shop"},
            "gateway serve: invalid settings: PORT: Input should be a valid integer, unable to "
            "parse string as an integer; CORS_ORIGINS: 'ftp://shop' is not an "
            "origin like https://shop.example",
        ),
        "several processes without Redis": (
            ["serve", "--workers", "2"],
            {"DATABASE_URL": sqlite_url(tmp_path), "REDIS_URL": ""},
            "gateway serve: --workers > 1 needs REDIS_URL: the processes share its cache and "
            "stream",
        ),
        "a relay without a broker": (
            ["relay"],
            {"DATABASE_URL": sqlite_url(tmp_path), "REDIS_URL": ""},
            "gateway relay: set CELERY_BROKER_URL or REDIS_URL: without a broker, "
            "`gateway serve` runs jobs",
        ),
    }
    for case, (args, env, expected) in cases.items():
        outcome = in_process(args, env)
        assert refusal(outcome) == expected, case
        assert "hunter2" not in outcome.stderr  # a password never reaches a terminal or log


def test_databases_that_cannot_be_used_are_named_with_the_fix(
    tmp_path: Path, in_process: Main, postgres_up: str
) -> None:
    port = free_port()
    down = {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/gateway"}
    assert refusal(in_process(["migrate"], down)) == (
        f"gateway migrate: cannot reach PostgreSQL at 127.0.0.1:{port}: connection refused; "
        "is it running? set DATABASE_URL"
    )
    missing = f"gateway_test_{os.getpid()}_never_created"
    host, pg_port = postgres_up.split(":")
    url = {"DATABASE_URL": f"postgresql://postgres@{postgres_up}/{missing}"}
    assert refusal(in_process(["migrate"], url)) == (
        f'gateway migrate: database "{missing}" does not exist on {postgres_up}; create it '
        f"(createdb -h {host} -p {pg_port} -U postgres {missing}) or set DATABASE_URL"
    )
    unmigrated = {"DATABASE_URL": sqlite_url(tmp_path)}
    for command in ("serve", "seed"):
        assert refusal(in_process([command], unmigrated)) == (
            f"gateway {command}: {tmp_path / 'gateway.db'} does not exist; "
            "run `gateway migrate` (or set DATABASE_URL)"
        )
    assert not (tmp_path / "gateway.db").exists()  # checking created nothing


def test_every_command_and_option_has_help() -> None:
    missing = []
    pending = [("gateway", parser())]
    while pending:
        name, command = pending.pop()
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{name} {c.dest}" for c in action._choices_actions if not c.help]
                pending += [(f"{name} {sub}", p) for sub, p in action.choices.items()]
            elif not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def findings(done: Outcome) -> dict[str, str]:
    """`gateway check`'s report: {what: status}."""
    assert "Traceback" not in done.stderr, done.stderr
    found = {}
    for line in done.stdout.splitlines():
        status, rest = line.split(maxsplit=1)
        found[rest.split(":", 1)[0]] = status
    return found


def test_check_reports_each_dependency_and_seed_shows_progress(
    tmp_path: Path, in_process: Main
) -> None:
    env = {"DATABASE_URL": sqlite_url(tmp_path)}
    done = in_process(["check"], env)
    assert done.code == 2
    assert findings(done) == {"settings": "ok", "database": "FAIL", "redis": "--", "broker": "--"}

    assert in_process(["migrate"], env).code == 0
    seeded = in_process(["seed", "--products", "300"], env)
    assert (seeded.code, seeded.stdout) == (0, "seeded 300 products\n"), seeded.stderr
    # Not a TTY: a line per tenth of the rows, never a carriage return.
    progress = seeded.stderr.splitlines()
    assert progress[0] == "seeding 300 products"
    assert progress[-1].startswith("seed: 100% "), progress
    assert progress[-1].endswith(" rows (product_images)"), progress
    assert 5 <= len(progress) <= 12, progress
    assert "\r" not in seeded.stderr

    done = in_process(["check"], env)
    assert done.code == 0, done.stdout
    assert findings(done) == {"settings": "ok", "database": "ok", "redis": "--", "broker": "--"}

    port = free_port()
    done = in_process(["check"], {**env, "REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    assert done.code == 2
    assert findings(done) == {"settings": "ok", "database": "ok", "redis": "FAIL", "broker": "FAIL"}
    assert (
        f"FAIL  redis: cannot reach Redis at 127.0.0.1:{port}: connection refused; "
        "is it running? set REDIS_URL"
    ) in done.stdout.splitlines()

    done = in_process(["check"], {**env, "JWT_SECRET": "short"})
    assert (done.code, findings(done)) == (2, {"settings": "FAIL"})


@pytest.fixture
def worker_env(tmp_path: Path, in_process: Main) -> Iterator[dict[str, str]]:
    """A migrated SQLite database, a private Redis broker and a `gateway worker` on them."""
    env = {"DATABASE_URL": sqlite_url(tmp_path)}
    assert in_process(["migrate"], env).code == 0
    with private_redis() as broker:
        env["REDIS_URL"] = broker.url
        worker = Worker({**env, "PYTHONPATH": str(ROOT)}, tmp_path / "worker.log")
        try:
            yield env
        finally:
            worker.stop()


def test_check_worker_pings_the_worker_on_this_host(
    in_process: Main, worker_env: dict[str, str]
) -> None:
    done = in_process(["check", "--worker"], worker_env)
    assert done.code == 0, done.stdout
    assert findings(done)["worker"] == "ok"


def test_a_database_behind_or_ahead_of_this_release_is_reported(
    tmp_path: Path, in_process: Main
) -> None:
    env = {"DATABASE_URL": sqlite_url(tmp_path)}
    settings = Settings(database_url=env["DATABASE_URL"])
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    assert isinstance(head, str)
    behind = scripts.get_revision(head).down_revision
    assert isinstance(behind, str)

    async def migrate_to(revision: str) -> None:
        engine = create_unpooled_engine(settings)
        try:
            await upgrade(engine, revision)
        finally:
            await engine.dispose()

    asyncio.run(migrate_to(behind))
    where = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    done = in_process(["check"], env)
    assert done.code == 2
    behind_line = f"FAIL  database: {where} is at revision {behind}, not {head}"
    assert f"{behind_line}; run `gateway migrate`" in done.stdout.splitlines()
    assert in_process(["migrate"], env).code == 0
    assert in_process(["check"], env).code == 0

    with sqlite3.connect(tmp_path / "gateway.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'from-the-future'")
    newer = f"the database is at revision from-the-future, newer than this release's {head}"
    assert refusal(in_process(["migrate"], env)) == (
        f"gateway migrate: {newer}; run the gateway release that made it"
    )
    done = in_process(["check"], env)
    ahead_line = f"FAIL  database: {where} is at revision from-the-future, newer than this"
    assert f"{ahead_line} release's {head}; upgrade the gateway" in done.stdout.splitlines()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_is_one_bar_redrawn_in_place() -> None:
    screen = Terminal()
    progress = TerminalProgress(screen, "seed")
    for done in range(0, 101, 25):
        progress("products", done, 100)
    progress("analyse", 100, 100)
    progress.close()
    frames = screen.getvalue().split("\r")[1:]
    assert len(frames) == 6
    assert frames[1] == "seed [########......................]  25% 25/100 rows (products)\x1b[K"
    assert frames[-1].startswith("seed [" + "#" * 30 + "] 100% 100/100 rows (analyse)")
    assert screen.getvalue().endswith("\n")
    assert screen.getvalue().count("\n") == 1
