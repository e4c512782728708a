"""The development commands of ``aiqleads``: ``services`` and ``seed``.

The runtime never imports this package: ``aiqleads/cli.py`` finds these commands through the
``aiqleads.commands`` entry-point group (``pyproject.toml``) and loads one only when it is used.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from aiqleads.domain.settings import Settings

T = TypeVar("T")


def _run(coro_factory: Callable[[Settings], Awaitable[T]]) -> T:
    """Read settings from the environment (a bad value is a clean CLI error) and run the coroutine."""
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc

    async def main() -> T:
        return await coro_factory(settings)

    return asyncio.run(main())


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("action", type=click.Choice(["up", "down", "status"]))
@click.option(
    "--monitoring",
    is_flag=True,
    help="With up: also start Prometheus (127.0.0.1:29090) and Alertmanager (127.0.0.1:29093).",
)
def services(action: str, monitoring: bool) -> None:
    """Start, stop or inspect PostgreSQL, Redis and Elasticsearch (and Prometheus and Alertmanager)
    on loopback."""
    from aiqleads_dev.services import main as services_main

    if monitoring and action != "up":
        raise click.UsageError("--monitoring goes with up (down and status cover it anyway)")
    code = services_main([action, *(["--monitoring"] if monitoring else [])])
    if code:
        sys.exit(code)


@click.command()
@click.option("--synthetic", type=click.IntRange(min=1, max=5_000_000), help="Write N synthetic leads.")
@click.option("--demo", is_flag=True, help="Load demo data (demo users and leads).")
@click.option("--seed", "rng_seed", type=int, default=42, show_default=True, help="Random seed.")
def seed(synthetic: int | None, demo: bool, rng_seed: int) -> None:
    """Write synthetic leads or the demo data set."""
    if not synthetic and not demo:
        raise click.UsageError("give --synthetic N or --demo")
    from aiqleads_dev.seeding import seed_demo, seed_synthetic

    if synthetic:
        written = _run(lambda s: seed_synthetic(s, synthetic, rng_seed, progress=click.echo))
        click.echo(f"wrote {written} synthetic leads")
    if demo:
        summary = _run(lambda s: seed_demo(s, progress=click.echo))
        click.echo(summary)
