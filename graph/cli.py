"""The `gateway` command: serve, worker, relay, migrate, seed, documents, token, export-schema."""

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from db.engine import create_unpooled_engine, session_factory
from db.migrate import upgrade
from db.seed import DEFAULT_PRODUCTS, seed
from graph.auth import GRANTABLE, issue, parse_ttl
from graph.settings import Settings
from graph.viewer import Role


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    workers = args.workers or settings.workers
    if workers > 1 and not settings.redis_url:
        # Each process would keep its own cache and event bus: a write in one would leave the
        # others' caches stale and never reach their subscribers.
        raise SystemExit("--workers > 1 needs REDIS_URL: the processes share its cache and stream")
    uvicorn.run(
        "graph.main:app",
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        ws_max_size=settings.max_body_bytes,
        ws_per_message_deflate=settings.ws_per_message_deflate,
        access_log=False,
        log_level="info",
    )


def _need_broker(settings: Settings) -> str:
    if not settings.broker_url:
        raise SystemExit(
            "set CELERY_BROKER_URL or REDIS_URL: without a broker, `gateway serve` runs jobs"
        )
    return settings.broker_url


def _worker(settings: Settings, concurrency: int, loglevel: str) -> None:
    from workers.app import create_celery

    _need_broker(settings)
    app = create_celery(settings)
    app.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel}",
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

    _need_broker(settings)
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
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _seed(settings: Settings, products: int) -> bool:
    engine = create_unpooled_engine(settings)
    try:
        return await seed(engine, products)
    finally:
        await engine.dispose()


def _export_schema(output: str | None) -> None:
    from graph.schema import build_schema

    sdl = build_schema().as_str() + "\n"
    if output:
        Path(output).write_text(sdl)
    else:
        sys.stdout.write(sdl)


async def _add_documents(settings: Settings, paths: list[Path]) -> int:
    from db.documents import add_trusted_documents
    from graph.schema import build_schema
    from graph.trusted import ManifestError, invalid, read_documents

    try:
        documents = read_documents(paths)
    except ManifestError as error:
        raise SystemExit(f"gateway documents add: {error}") from None
    schema = build_schema()._schema
    for document in documents:
        reason = invalid(schema, document)
        if reason is not None:
            raise SystemExit(f"gateway documents add: {document.id[:20]}: {reason}")
    engine = create_unpooled_engine(settings)
    try:
        async with session_factory(engine)() as session:
            return await add_trusted_documents(session=session, documents=documents)
    finally:
        await engine.dispose()


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="gateway", description="The product GraphQL gateway.")
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve GraphQL over HTTP")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    worker = commands.add_parser("worker", help="run a Celery worker (needs a broker)")
    worker.add_argument("--concurrency", type=int, default=2)
    worker.add_argument("--loglevel", default="INFO")
    commands.add_parser("relay", help="hand outbox rows to the broker (serve runs one too)")
    commands.add_parser("migrate", help="apply database migrations")
    seed_cmd = commands.add_parser("seed", help="seed the demo catalog into an empty database")
    seed_cmd.add_argument("--products", type=int, default=DEFAULT_PRODUCTS)
    token = commands.add_parser("token", help="print a bearer token for development")
    token.add_argument("--role", required=True, choices=[r.value for r in GRANTABLE])
    token.add_argument("--ttl", default="1h", help="lifetime: 90s, 15m, 1h, 7d (default 1h)")
    token.add_argument("--subject", default="developer", help="who the token speaks for")
    documents = commands.add_parser("documents", help="manage trusted documents")
    documents_commands = documents.add_subparsers(dest="action", required=True)
    add = documents_commands.add_parser(
        "add", help="register documents: .graphql files or a codegen/Relay/Apollo manifest"
    )
    add.add_argument("files", nargs="+", type=Path, help=".graphql files or .json manifests")
    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.add_argument("--output", help="write the SDL to this file instead")
    return root


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.command == "export-schema":
        _export_schema(args.output)
        return
    settings = Settings()
    if args.command == "serve":
        _serve(args, settings)
    elif args.command == "worker":
        _worker(settings, args.concurrency, args.loglevel)
    elif args.command == "relay":
        asyncio.run(_relay(settings))
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
        print("migrated")
    elif args.command == "token":
        try:
            minted = issue(settings, Role(args.role), args.subject, parse_ttl(args.ttl))
        except ValueError as error:
            raise SystemExit(f"gateway token: {error}") from None
        print(minted)
    elif args.command == "documents":
        added = asyncio.run(_add_documents(settings, args.files))
        print(f"registered {added} trusted documents")
    elif args.command == "seed":
        created = asyncio.run(_seed(settings, args.products))
        print(f"seeded {args.products} products" if created else "already seeded; left as is")


if __name__ == "__main__":
    main()
