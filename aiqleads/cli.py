"""The `aiqleads` command line: services, migrations, seeding, serving, workers and operator tasks."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from aiqleads.domain.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


def _settings_safe_to_serve() -> Settings:
    """Settings for a long-running process (API or worker); unsafe production settings exit 2 in one line."""
    from aiqleads.domain.settings import UnsafeSettings

    try:
        settings = Settings.from_env()
        settings.check_safe_to_serve()
    except UnsafeSettings as exc:
        click.echo(f"aiqleads: {exc}", err=True)
        sys.exit(2)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    return settings


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _run(coro_factory: Callable[[Settings], Awaitable[T]]) -> T:
    """Read settings from the environment (a bad value is a clean CLI error) and run the coroutine."""
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    return asyncio.run(coro_factory(settings))  # type: ignore[arg-type]


PLUGIN_GROUP = "aiqleads.commands"  # entry points that add commands (the dev tools: services, seed)


class _CommandGroup(click.Group):
    """The root group: its own commands plus those registered under the ``aiqleads.commands`` entry-point
    group, each loaded only when listed or run (the development tools live in ``aiqleads_dev``, which
    the runtime must not import)."""

    def _plugins(self) -> dict[str, Any]:
        from importlib.metadata import entry_points

        return {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP) if ep.name not in self.commands}

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Built-in and registered command names, sorted."""
        return sorted({*super().list_commands(ctx), *self._plugins()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A built-in command, else the registered one of that name (imported now)."""
        command = super().get_command(ctx, cmd_name)
        entry = None if command is not None else self._plugins().get(cmd_name)
        if entry is not None:
            loaded = entry.load()
            if not isinstance(loaded, click.Command):
                raise click.ClickException(f"entry point {entry.value} is not a click command")
            command = loaded
        return command


def _in_unit_of_work(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one use case in a unit of work on this command's Deps; an expected domain failure is a
    one-line CLI error."""
    from aiqleads.domain.bootstrap import opened
    from aiqleads.domain.errors import DomainError
    from aiqleads.domain.unit_of_work import UnitOfWork

    async def go(settings: Settings) -> T:
        async with opened(settings) as deps, UnitOfWork(deps) as uow:
            return await work(uow.session)

    try:
        return _run(go)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc


@click.group(cls=_CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """AIQLeads: GraphQL API for a real-estate lead marketplace."""


def alembic_config(database_url: str | None = None) -> Any:
    """The Alembic configuration of this project (optionally for another database)."""
    from alembic.config import Config

    from aiqleads import migrations

    folder = Path(migrations.__file__).resolve().parent  # shipped in the package: a wheel can migrate
    config = Config(str(folder / "alembic.ini"))
    config.set_main_option("script_location", str(folder))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


@main.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def migrate(revision: str) -> None:
    """Apply database migrations (alembic upgrade) as the schema owner (AIQ_MIGRATION_DATABASE_URL,
    else DATABASE_URL), then grant the application role (DATABASE_URL's user) row access."""
    import asyncio

    from alembic import command

    from aiqleads.db_roles import grant_app_role, role_of

    settings = Settings.from_env()
    owner_url = settings.migration_database_url or settings.database_url
    app_role = role_of(settings.database_url)
    try:
        command.upgrade(alembic_config(owner_url), revision)
        if app_role and app_role != role_of(owner_url):
            asyncio.run(grant_app_role(owner_url, app_role))
    except Exception as exc:
        raise click.ClickException(f"migration failed: {exc}") from exc
    click.echo(f"database at revision {revision}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Processes.")
@click.option("--log-level", default="info", show_default=True, help="Log level of every logger.")
def serve(host: str, port: int, workers: int, log_level: str) -> None:
    """Serve the GraphQL API (GraphiQL at /graphql); production refuses unsafe settings."""
    import uvicorn

    from aiqleads.logs import log_config

    settings = _settings_safe_to_serve()
    if settings.is_development and not _is_loopback(host):
        # development approves payments at once and may use the public JWT secret: never expose it
        click.echo(f"aiqleads: refusing to serve AIQ_ENV=development on {host}: bind to 127.0.0.1", err=True)
        sys.exit(2)
    uvicorn.run(
        "aiqleads.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        log_config=log_config(settings.log_format, log_level),  # JSON lines (AIQ_LOG_FORMAT)
        ws_ping_interval=20,
        ws_ping_timeout=20,  # half-open sockets are dropped after a missed pong
        ws_max_size=settings.max_body_bytes,  # one websocket message is bounded like an HTTP body
        # no permessage-deflate: its zlib state costs ~46 KB per connection (measured, bench/
        # bench_subscribers.py), more than everything else an idle subscriber holds, for frames
        # that are a few hundred bytes of JSON
        ws_per_message_deflate=False,
        # wsproto's protocol object holds the least per connection (an idle subscriber 27 KB in
        # all, against 30 KB with the websockets implementation: bench/bench_subscribers.py)
        ws="wsproto",
        # h11 bounds the request line and headers (httptools, uvicorn's other parser, does not)
        http="h11",
        h11_max_incomplete_event_size=64 * 1024,
    )


@main.command()
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=9101,
    show_default=True,
    help="Serve the worker's Prometheus metrics on 127.0.0.1:PORT/metrics (0 = off).",
)
def worker(metrics_port: int) -> None:
    """Run the arq worker (scrapers, cleaning, indexing, pricing, timers)."""
    from arq.worker import Worker

    from aiqleads.logs import configure
    from aiqleads.workers.settings import worker_settings

    settings = _settings_safe_to_serve()
    configure(settings.log_format)  # arq's job start/finish lines and ours, on stderr (AIQ_LOG_FORMAT)
    try:
        config = worker_settings(settings, metrics_port=metrics_port or None)
    except ValueError as exc:  # AIQ_SCRAPE_SCHEDULE names a region the scrapers do not know
        raise click.ClickException(str(exc)) from exc
    Worker(**config).run()


def _known_region(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Reject an unknown --region as a usage error, before settings are read or anything connects."""
    from aiqleads.workers.scrapers.regions import resolve_region

    try:
        resolve_region(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc
    return value


@main.command()
@click.argument(
    "source", type=click.Choice(["zillow", "craigslist", "fsbo", "facebook"], case_sensitive=False)
)
@click.option(
    "--region",
    "-r",
    required=True,
    callback=_known_region,
    help="Metro: dallas, austin, houston, phoenix, atlanta, …",
)
@click.option("--pages", type=click.IntRange(1, 100), default=None, help="Most search pages to fetch [5].")
def scrape(source: str, region: str, pages: int | None) -> None:
    """Scrape SOURCE for one region through the full pipeline (clean, dedup, score, store, index)."""
    from aiqleads.workers.ingest_jobs import scrape_once

    tty = sys.stdout.isatty()

    def progress(line: str) -> None:
        click.echo(f"\r\x1b[2K{line}" if tty else line, nl=not tty)

    try:
        report = _run(lambda s: scrape_once(s, source, region, pages, progress))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if tty:
        click.echo()
    click.echo(report.line())


@main.group()
def apikey() -> None:
    """Manage partner API keys."""


@apikey.command("create")
@click.argument("name")
def apikey_create(name: str) -> None:
    """Create a partner API key; the secret is printed once."""
    from aiqleads.domain.users.service import create_api_key

    key, secret = _in_unit_of_work(lambda session: create_api_key(session, name))
    click.echo(f"created API key {key.prefix}… ({key.name})\n{secret}")


@main.command("make-admin")
@click.argument("email")
def make_admin(email: str) -> None:
    """Give a user the admin role (operator mutations)."""
    from aiqleads.domain.users.service import set_role

    _in_unit_of_work(lambda session: set_role(session, email, "admin"))
    click.echo(f"{email} is now an admin")


@main.command()
@click.option(
    "--batch-size", default=2000, show_default=True, type=click.IntRange(100, 20_000), help="Leads per bulk."
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes that build the documents (from 20,000 leads): pays where cores are free; "
    "2 on a 2-core machine measured 1.2x faster (bench/README.md, reindex).",
)
def reindex(batch_size: int, workers: int) -> None:
    """Rebuild the search index from PostgreSQL and swap the alias (zero downtime)."""
    from aiqleads.domain.bootstrap import opened
    from aiqleads.domain.search.indexer import reindex_all

    async def go(settings: Settings) -> str:
        async with opened(settings) as deps:
            result = await reindex_all(
                deps.sessionmaker, deps.es, settings, click.echo, batch_size=batch_size, workers=workers
            )
        return f"reindexed {result.indexed} leads into {result.index} in {result.seconds:.1f}s"

    try:
        click.echo(_run(go))
    except Exception as exc:
        raise click.ClickException(f"reindex failed: {exc}") from exc


@main.command()
def reembed() -> None:
    """Embed every lead without a vector of the configured model (AIQ_EMBEDDER), then rebuild the
    buyer profiles; resumable, with a progress line."""
    from aiqleads.domain.bootstrap import opened
    from aiqleads.domain.recommendations.use_cases import reembed as reembed_all

    async def go(settings: Settings) -> str:
        async with opened(settings, embedder=True) as deps:
            return (await reembed_all(deps, deps.lead_embedder, click.echo)).line()

    try:
        click.echo(_run(go))
    except Exception as exc:
        raise click.ClickException(f"reembed failed: {exc}") from exc


@main.group()
def monitoring() -> None:
    """Alerting configuration: Alertmanager's receivers from the AIQ_* alert settings."""


@monitoring.command("render")
@click.option(
    "--template",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=Path("deploy/alertmanager/alertmanager.yml"),
    show_default=True,
    help="The committed Alertmanager configuration.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the configuration here, readable by its owner only (default: standard output).",
)
def monitoring_render(template: Path, output: Path | None) -> None:
    """Render the Alertmanager configuration: AIQ_SLACK_WEBHOOK_URL, AIQ_PAGERDUTY_ROUTING_KEY and
    AIQ_PAGERDUTY_URL replace the template's secret files (an unset one keeps its *_file line)."""
    from aiqleads.alerting import AlertReceivers, render_alertmanager

    try:
        settings = Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    rendered = render_alertmanager(template.read_text(), AlertReceivers.from_settings(settings))
    if output is None:
        click.echo(rendered, nl=False)
        return
    # it holds the webhook URL and routing key: created owner-only, never world-readable
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode otherwise
    with os.fdopen(fd, "w") as handle:
        handle.write(rendered)
    click.echo(f"wrote {output}")


@main.command("export-schema")
@click.option("--check", is_flag=True, help="Fail if the committed SDL differs.")
def export_schema(check: bool) -> None:
    """Write the GraphQL SDL to schema/schema.graphql (or check it is current)."""
    from aiqleads import schema
    from aiqleads.schema.root import build_schema

    target = Path(schema.__file__).resolve().parent / "schema.graphql"
    sdl = build_schema().as_str() + "\n"
    if check:
        if not target.exists() or target.read_text() != sdl:
            raise click.ClickException(f"{target} is out of date: run `aiqleads export-schema`")
        click.echo("schema SDL is current")
        return
    target.write_text(sdl)
    click.echo(f"wrote {target}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
