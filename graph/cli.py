"""The `gateway` command: serve, worker, relay, migrate, seed, documents, token, export-schema,
check. A configuration or connection problem ends a command with one line that says the fix,
and exit code 2; a traceback means a bug."""

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError

from db.engine import create_unpooled_engine, session_factory
from db.migrate import revisions, upgrade
from db.problems import database_problem
from db.seed import DEFAULT_PRODUCTS, seed
from graph.auth import GRANTABLE, issue, parse_ttl
from graph.observability.logs import configure_logging, wants_json
from graph.preflight import (
    Finding,
    Problem,
    Status,
    broker_finding,
    check,
    database_finding,
    require,
    settings_problem,
)
from graph.progress import TerminalProgress
from graph.settings import Settings
from graph.viewer import Role

EXIT_PROBLEM = 2  # as argparse exits for a usage error


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from graph.transport.joined import JoinedHttpToolsProtocol

    workers = args.workers or settings.serve_workers
    if workers > 1 and not settings.redis_url:
        # Each process would keep its own cache and event bus: a write in one would leave the
        # others' caches stale and never reach their subscribers.
        raise Problem("--workers > 1 needs REDIS_URL: the processes share its cache and stream")
    # Found here, a problem is one line; found in the lifespan, uvicorn prints a traceback.
    _database_for("serve", asyncio.run(database_finding(settings, need_head=False)))
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        "graph.main:serve",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=workers,
        loop="uvloop",
        http=JoinedHttpToolsProtocol,
        ws_max_size=settings.max_body_bytes,
        ws_per_message_deflate=settings.ws_per_message_deflate,
        # Ours (graph.transport.observe) replaces uvicorn's access log; its other records go
        # through our formatter, since uvicorn is told to configure no logging of its own.
        access_log=False,
        log_config=None,
        log_level=settings.log_level.lower(),
    )


def _database_for(command: str, finding: Finding) -> None:
    """A server or worker starts while the database cannot be reached, and carries on once it
    answers (`/readyz` says 503 meanwhile); anything else wrong with it stops them."""
    if finding.status is Status.FAILED and finding.transient:
        print(f"gateway {command}: {finding.detail}; starting anyway", file=sys.stderr)
        return
    require(finding)


async def _need_broker(command: str, settings: Settings) -> None:
    """A worker or relay without a broker, or with one it cannot reach, refuses to start (once
    running, both ride out broker outages)."""
    if not settings.broker_url:
        raise Problem(
            "set CELERY_BROKER_URL or REDIS_URL: without a broker, `gateway serve` runs jobs"
        )
    require(await broker_finding(settings))
    _database_for(command, await database_finding(settings, need_head=False))


def _worker(settings: Settings, concurrency: int, loglevel: str | None) -> None:
    from celery.signals import setup_logging

    from workers.app import create_celery

    asyncio.run(_need_broker("worker", settings))
    level = (loglevel or settings.log_level).upper()
    configure_logging(level, settings.log_format)

    def keep_ours(**_: object) -> None:
        """Connected, it stops Celery from setting up logging its own way; the pool's
        processes are forked later and keep ours."""

    setup_logging.connect(keep_ours, weak=False)
    app = create_celery(settings)
    # The banner is printed, not logged: it would be the one line that is not JSON.
    quiet = ["--quiet"] if wants_json(settings.log_format, sys.stdout) else []
    app.worker_main(
        [
            *quiet,
            "worker",
            f"--concurrency={concurrency}",
            f"--loglevel={level}",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
        ]
    )


async def _relay(settings: Settings) -> None:
    from db.engine import create_engine, session_factory
    from graph.app import build_event_stream
    from workers.app import create_celery
    from workers.dispatch import CeleryDispatcher
    from workers.relay import Relay

    await _need_broker("relay", settings)
    configure_logging(settings.log_level, settings.log_format)
    engine = create_engine(settings)
    dispatcher = CeleryDispatcher(create_celery(settings), settings.broker_timeout_seconds)
    sessions = session_factory(engine)
    events, client = build_event_stream(settings, sessions)
    try:
        await Relay(sessions, dispatcher, settings, events).run()
    finally:
        if client is not None:
            await client.aclose()
        dispatcher.close()
        await engine.dispose()


async def _migrate(settings: Settings) -> None:
    engine = create_unpooled_engine(settings)
    try:
        found = await revisions(engine)
        if not found.known:  # Alembic would fail with "Can't locate revision"
            raise Problem(
                f"the database is at revision {found.current}, newer than this release's "
                f"{found.head}; run the gateway release that made it"
            )
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _seed(settings: Settings, products: int) -> bool:
    require(await database_finding(settings))
    print(f"seeding {products:,} products", file=sys.stderr)
    engine = create_unpooled_engine(settings)
    progress = TerminalProgress(sys.stderr, "seed")
    try:
        return await seed(engine, products, progress)
    finally:
        progress.close()
        await engine.dispose()


def _export_schema(output: str | None, possible_types: bool, federation: bool) -> None:
    from graph.possible_types import possible_types_of
    from graph.schema import build_schema, public_sdl

    schema = build_schema()
    if possible_types:
        text = json.dumps(possible_types_of(schema._schema), indent=2) + "\n"
    elif federation:
        text = schema.as_str() + "\n"
    else:
        text = public_sdl() + "\n"
    if output:
        Path(output).write_text(text)
    else:
        sys.stdout.write(text)


async def _check(settings: Settings, worker: bool) -> bool:
    findings = await check(settings, worker=worker)
    for finding in findings:
        print(finding.line())
    return all(finding.status is not Status.FAILED for finding in findings)


async def _add_documents(settings: Settings, paths: list[Path]) -> int:
    from db.documents import add_trusted_documents
    from graph.schema import build_schema
    from graph.trusted import ManifestError, invalid, read_documents

    try:
        documents = read_documents(paths)
    except ManifestError as error:
        raise Problem(str(error)) from None
    schema = build_schema()._schema
    for document in documents:
        reason = invalid(schema, document)
        if reason is not None:
            raise Problem(f"{document.id[:20]}: {reason}")
    require(await database_finding(settings))
    engine = create_unpooled_engine(settings)
    try:
        async with session_factory(engine)() as session:
            return await add_trusted_documents(session=session, documents=documents)
    finally:
        await engine.dispose()


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="gateway",
        description="The product GraphQL gateway. Settings come from the environment or .env.",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve GraphQL over HTTP and WebSocket")
    serve.add_argument("--host", help="address to listen on (default: HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: PORT, 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        help="server processes (default: WORKERS; else 1, or one per core in production with "
        "REDIS_URL); more than one needs REDIS_URL",
    )
    worker = commands.add_parser("worker", help="run Celery workers (needs a broker)")
    worker.add_argument(
        "--concurrency", type=int, default=2, help="task processes in this worker (default 2)"
    )
    worker.add_argument(
        "--loglevel",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
        help="log level (default: LOG_LEVEL, INFO)",
    )
    commands.add_parser("relay", help="hand outbox rows to the broker (serve runs one too)")
    commands.add_parser("migrate", help="apply database migrations")
    seed_cmd = commands.add_parser("seed", help="seed the demo catalog into an empty database")
    seed_cmd.add_argument(
        "--products",
        type=int,
        default=DEFAULT_PRODUCTS,
        help=f"how many products (default {DEFAULT_PRODUCTS:,})",
    )
    token = commands.add_parser("token", help="print a bearer token for development")
    token.add_argument(
        "--role", required=True, choices=[r.value for r in GRANTABLE], help="what it may do"
    )
    token.add_argument("--ttl", default="1h", help="lifetime: 90s, 15m, 1h, 7d (default 1h)")
    token.add_argument("--subject", default="developer", help="who the token speaks for")
    documents = commands.add_parser("documents", help="manage trusted documents")
    documents_commands = documents.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = documents_commands.add_parser(
        "add", help="register documents: .graphql files or a codegen/Relay/Apollo manifest"
    )
    add.add_argument("files", nargs="+", type=Path, help=".graphql files or .json manifests")
    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.add_argument("--output", help="write it to this file instead")
    printed = export.add_mutually_exclusive_group()
    printed.add_argument(
        "--possible-types",
        action="store_true",
        help="print each interface's and union's object types as JSON instead (for a client "
        "cache's possibleTypes)",
    )
    printed.add_argument(
        "--federation",
        action="store_true",
        help="print the Apollo Federation subgraph SDL instead (what `_service { sdl }` "
        "answers; compose a supergraph from it)",
    )
    check_cmd = commands.add_parser(
        "check", help="check settings, database, Redis and broker; exit 2 if anything is wrong"
    )
    check_cmd.add_argument(
        "--worker",
        action="store_true",
        help="also ping the Celery worker on this host (a worker container's health check)",
    )
    return root


def _refuse(command: str, message: str) -> NoReturn:
    print(f"gateway {command}: {message}", file=sys.stderr)
    raise SystemExit(EXIT_PROBLEM)


def _run(args: argparse.Namespace, settings: Settings) -> None:
    if args.command == "serve":
        _serve(args, settings)
    elif args.command == "worker":
        _worker(settings, args.concurrency, args.loglevel)
    elif args.command == "relay":
        asyncio.run(_relay(settings))
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
        print("migrated")
    elif args.command == "check":
        if not asyncio.run(_check(settings, args.worker)):
            raise SystemExit(EXIT_PROBLEM)
    elif args.command == "token":
        try:
            minted = issue(settings, Role(args.role), args.subject, parse_ttl(args.ttl))
        except ValueError as error:
            raise Problem(str(error)) from None
        print(minted)
    elif args.command == "documents":
        added = asyncio.run(_add_documents(settings, args.files))
        print(f"registered {added} trusted documents")
    elif args.command == "seed":
        created = asyncio.run(_seed(settings, args.products))
        print(f"seeded {args.products} products" if created else "already seeded; left as is")


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.command == "export-schema":
        _export_schema(args.output, args.possible_types, args.federation)
        return
    try:
        settings = Settings()
    except ValidationError as error:
        if args.command == "check":
            print(Finding("settings", Status.FAILED, settings_problem(error)).line())
            raise SystemExit(EXIT_PROBLEM) from None
        _refuse(args.command, f"invalid settings: {settings_problem(error)}")
    try:
        _run(args, settings)
    except Problem as problem:
        _refuse(args.command, str(problem))
    except Exception as error:
        explained = database_problem(error, settings.database_url)
        if explained is None:
            raise
        _refuse(args.command, explained)


if __name__ == "__main__":
    main()
