"""The ``weir`` command: serve, migrate, init, orgs, keys, schema, worker, scheduler, demo."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from server.config import ConfigError, Settings, load_or_exit
from server.logs import configure_logging


def _run(coroutine_factory: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(coroutine_factory())  # type: ignore[arg-type]


async def _with_database(settings: Settings, body: Callable[[], Awaitable[Any]]) -> Any:
    from server.db import close_database, open_database

    ctx = await open_database(settings)
    try:
        return await body()
    finally:
        await close_database(ctx)


# -- commands -------------------------------------------------------------------------------


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from server.db import migrate

    applied = _run(lambda: migrate(settings))
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
    return 0


def _print_bootstrap(result: Any, settings: Settings) -> None:
    print("Weir is initialised.")
    print(f"  organization: {result.organization.name} ({result.organization.id})")
    print(f"  workspace:    {result.workspace.name} ({result.workspace.id})")
    print(f"  API key:      {result.key.secret}")
    print("  Keep the key somewhere safe: it is shown only this once.")


def cmd_init(settings: Settings, args: argparse.Namespace) -> int:
    from server.crypto import load_key_ring
    from server.db import migrate
    from server.errors import ValidationFailed
    from server.orgs.bootstrap import initialise

    load_key_ring(settings)  # the embedded default generates its key file here, once
    _run(lambda: migrate(settings))
    try:
        result = _run(
            lambda: _with_database(settings, lambda: initialise(organization_name=args.organization))
        )
    except ValidationFailed as exc:
        print(f"weir: --{exc.message}", file=sys.stderr)
        return 1
    if result is None:
        print("Weir is already initialised; create more keys with: weir keys create --name NAME")
        return 0
    _print_bootstrap(result, settings)
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from server import outbound
    from server.crypto import load_key_ring
    from server.db import migrate
    from server.embedded import create_app
    from server.orgs.bootstrap import initialise
    from server.vault import verify_key_ring
    from server.web.ws_server import WeirWebSocketProtocol

    settings = settings.replace(host=args.host or settings.host, port=args.port or settings.port)
    ring = load_key_ring(settings)  # fail now, with one clear line, if the keys are wrong
    if settings.embedded:
        _run(lambda: migrate(settings))
        result = _run(lambda: _with_database(settings, initialise))
        if result is not None:
            _print_bootstrap(result, settings)
    # Every key id the stored secrets use must be in the ring and decrypt them.
    _run(lambda: _with_database(settings, lambda: verify_key_ring(key_ring=ring)))
    url = settings.effective_public_url
    print(f"Weir is serving on {url}  (GraphQL: {url}/graphql)", flush=True)
    if settings.console:
        print(f"Console: {url}/console  (sign in with an API key)", flush=True)
    if settings.embedded:
        print(f"Embedded mode: data in {settings.data_dir.resolve()}", flush=True)
    print(outbound.describe(settings), flush=True)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        proxy_headers=True,
        # uvicorn's websockets-sansio protocol, plus direct frame writes for subscription fan-out.
        ws=WeirWebSocketProtocol,
        # Subscription messages are small JSON: compressing each frame costs more CPU than it
        # saves, and every connection would hold its own zlib state (~100 KB per subscriber).
        ws_per_message_deflate=False,
        # A WebSocket message may be as large as an HTTP body, no larger (uvicorn's default is
        # 16 MiB); the protocol handler checks again under other servers.
        ws_max_size=settings.max_body_bytes,
    )
    return 0


def cmd_keys(settings: Settings, args: argparse.Namespace) -> int:
    from server.audit.service import record_operator
    from server.events import build_event_bus
    from server.orgs import api_keys
    from server.orgs.models import ApiKey, Organization

    if args.keys_command == "generate-encryption-key":
        from server.crypto import generate_key_spec

        print(generate_key_spec(args.key_id))
        return 0
    if args.keys_command == "rotate-encryption":
        from server.crypto import load_key_ring
        from server.vault import rotate_all

        ring = load_key_ring(settings)
        counts = _run(
            lambda: _with_database(settings, lambda: rotate_all(key_ring=ring, batch_size=args.batch_size))
        )
        print(
            f"re-encrypted {counts.rotated} secret(s) with key {ring.primary_key_id!r}; "
            f"{counts.already_current} already used it"
        )
        if counts.remaining:
            print(
                f"{counts.remaining} secret(s) were rewritten with an older key meanwhile; "
                "run the rotation again before dropping any key",
                file=sys.stderr,
            )
            return 1
        return 0

    async def body() -> int:
        if args.keys_command == "create":
            organizations = Organization.all()
            if args.organization:
                organizations = organizations.filter(id=args.organization)
            # Tortoise validates max_length inside filters: a longer id matches nothing.
            too_long = len(args.organization or "") > 32
            found = [] if too_long else await organizations.order_by("id").limit(2)
            if not found:
                print(
                    f"organization {args.organization!r} not found (see: weir orgs list)"
                    if args.organization
                    else "Weir is not initialised yet: run 'weir init' first",
                    file=sys.stderr,
                )
                return 1
            if len(found) > 1:
                # Several tenants: a key must never land in one by accident.
                print(
                    "there are several organizations: choose one with --organization ID "
                    "(see: weir orgs list)",
                    file=sys.stderr,
                )
                return 1
            organization = found[0]
            created = await api_keys.create_api_key(
                organization_id=organization.id, name=args.name, workspace_id=args.workspace
            )
            await record_operator(
                organization_id=organization.id,
                operation="createApiKey",
                object_id=created.api_key.id,
                workspace_id=args.workspace,
            )
            print(f"created API key {created.api_key.id} ({created.api_key.prefix}...)")
            print(f"  secret: {created.secret}")
            print("  Keep it somewhere safe: it is shown only this once.")
            return 0
        if args.keys_command == "list":
            rows = await ApiKey.all().order_by("id")
            print(f"{'ID':<32} {'PREFIX':<16} {'NAME':<24} {'WORKSPACE':<32} {'LAST USED':<26} STATUS")
            for row in rows:
                status = "revoked" if row.revoked_at else "active"
                used = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "never"
                print(
                    f"{row.id:<32} {row.prefix:<16} {row.name[:24]:<24} "
                    f"{(row.workspace_id or 'all'):<32} {used:<26} {status}"
                )
            return 0
        # With Redis, running API processes hear of it at once (and close the key's sockets);
        # without, their caches forget it within AUTH_CACHE_SECONDS and their sockets at the
        # next sweep (server.auth.revocation).
        bus = build_event_bus(settings.redis_url) if settings.redis_url else None
        try:
            revoked = await api_keys.revoke_api_key_by_prefix_or_id(identifier=args.key, bus=bus)
        finally:
            if bus is not None:
                await bus.close()
        await record_operator(
            organization_id=revoked.organization_id, operation="revokeApiKey", object_id=revoked.id
        )
        print(f"revoked API key {revoked.id} ({revoked.prefix}...)")
        return 0

    from server.errors import NotFound

    try:
        return _run(lambda: _with_database(settings, body))
    except NotFound as exc:
        print(f"weir: {exc.message}", file=sys.stderr)
        return 1


def cmd_orgs(settings: Settings, args: argparse.Namespace) -> int:
    from server.audit.service import record_operator
    from server.errors import ValidationFailed
    from server.orgs.bootstrap import create_organization, list_organizations

    async def body() -> int:
        if args.orgs_command == "create":
            result = await create_organization(name=args.name)
            await record_operator(
                organization_id=result.organization.id,
                operation="createOrganization",
                object_id=result.organization.id,
            )
            print(f"created organization {result.organization.name} ({result.organization.id})")
            print(f"  workspace:    {result.workspace.name} ({result.workspace.id})")
            print(f"  API key:      {result.key.secret}")
            print("  Keep the key somewhere safe: it is shown only this once.")
            return 0
        print(f"{'ID':<32} {'CREATED':<26} NAME")
        for organization in await list_organizations():
            created = organization.created_at.isoformat(timespec="seconds")
            print(f"{organization.id:<32} {created:<26} {organization.name}")
        return 0

    try:
        return int(_run(lambda: _with_database(settings, body)))
    except ValidationFailed as exc:
        print(f"weir: {exc.message}", file=sys.stderr)
        return 1


def cmd_schema(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from server.api.schema import schema_sdl

    sdl = schema_sdl()
    if args.check:
        current = Path(args.check).read_text() if Path(args.check).exists() else ""
        if current != sdl:
            print(
                f"{args.check} differs from the schema in the code; run: weir schema > {args.check}",
                file=sys.stderr,
            )
            return 1
        print(f"{args.check} is up to date")
        return 0
    sys.stdout.write(sdl)
    return 0


def cmd_catalog(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from server.connectors.catalog_page import markdown
    from server.connectors.registry import CONNECTORS

    if not (args.markdown or args.check):
        for connector in sorted(CONNECTORS.values(), key=lambda c: c.SPEC.name):
            spec = connector.SPEC
            streams = ",".join(stream.name for stream in spec.streams) or "-"
            print(f"{spec.name}\t{spec.category}\t{','.join(spec.auth_types)}\t{streams}")
        return 0
    page = markdown(CONNECTORS.values())
    if args.check:
        current = Path(args.check).read_text() if Path(args.check).exists() else ""
        if current != page:
            print(
                f"{args.check} differs from the catalog; run: weir catalog --markdown > {args.check}",
                file=sys.stderr,
            )
            return 1
        print(f"{args.check} is up to date")
        return 0
    sys.stdout.write(page)
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from server.worker.main import run_worker

    return run_worker(settings, processes=args.processes, threads=args.threads)


def cmd_scheduler(settings: Settings, args: argparse.Namespace) -> int:
    from server.scheduler.main import run_scheduler

    interval = args.interval if args.interval is not None else settings.scheduler_interval_seconds
    return run_scheduler(settings, interval=interval)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from server.demo import run_demo

    return run_demo(settings, contacts=args.contacts)


# -- parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="weir",
        description="Weir: an embedded-integrations gateway (connect widget, credential vault, ELT).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the API (and, embedded, everything else)")
    serve.add_argument("--host", help="interface to bind (WEIR_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (WEIR_PORT, default 8000)")
    serve.set_defaults(handler=cmd_serve)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(handler=cmd_migrate)

    init = commands.add_parser("init", help="create the first organization, workspace and key")
    init.add_argument("--organization", default="My organization", help="organization name")
    init.set_defaults(handler=cmd_init)

    keys = commands.add_parser("keys", help="manage API keys and encryption keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = key_commands.add_parser("create", help="create an API key (shown once)")
    create.add_argument("--name", required=True, help="what the key is for")
    create.add_argument("--workspace", help="restrict the key to this workspace id")
    create.add_argument("--organization", help="the organization's id (required when there are several)")
    key_commands.add_parser("list", help="list API keys (never their secrets)")
    revoke = key_commands.add_parser("revoke", help="revoke an API key")
    revoke.add_argument("key", help="the key's id or visible prefix")
    rotate = key_commands.add_parser(
        "rotate-encryption", help="re-encrypt every stored secret with the newest encryption key"
    )
    rotate.add_argument("--batch-size", type=int, default=500)
    generate = key_commands.add_parser(
        "generate-encryption-key", help="print a new entry for WEIR_ENCRYPTION_KEYS"
    )
    generate.add_argument("--key-id", default="k1")
    keys.set_defaults(handler=cmd_keys)

    orgs = commands.add_parser("orgs", help="manage organizations (tenants)")
    org_commands = orgs.add_subparsers(dest="orgs_command", required=True, metavar="ACTION")
    org_create = org_commands.add_parser(
        "create",
        help="create an organization with a default workspace and a first API key (the key is shown once)",
    )
    org_create.add_argument("name", help="the organization's name")
    org_commands.add_parser("list", help="list organizations (ids, names, creation times)")
    orgs.set_defaults(handler=cmd_orgs)

    schema = commands.add_parser("schema", help="print the GraphQL SDL")
    schema.add_argument("--check", metavar="FILE", help="fail if FILE differs from the code")
    schema.set_defaults(handler=cmd_schema)

    catalog = commands.add_parser("catalog", help="list the built-in integrations")
    catalog.add_argument("--markdown", action="store_true", help="print docs/catalog.md")
    catalog.add_argument("--check", metavar="FILE", help="fail if FILE is not the current page")
    catalog.set_defaults(handler=cmd_catalog)

    worker = commands.add_parser("worker", help="run sync runs and other jobs from Redis")
    worker.add_argument("--processes", type=int, default=1)
    worker.add_argument("--threads", type=int, default=4)
    worker.set_defaults(handler=cmd_worker)

    scheduler = commands.add_parser("scheduler", help="enqueue due syncs")
    scheduler.add_argument(
        "--interval",
        type=float,
        default=None,
        help="seconds between scans (default WEIR_SCHEDULER_INTERVAL_SECONDS)",
    )
    scheduler.set_defaults(handler=cmd_scheduler)

    demo = commands.add_parser("demo", help="create a demo connection and sync, and run it once")
    demo.add_argument("--contacts", type=int, default=10_000)
    demo.set_defaults(handler=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    try:
        return int(args.handler(settings, args) or 0)
    except ConfigError as exc:
        print(f"weir: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
