"""What every ``support-agent`` command shares, so the commands behave (and fail) alike.

Human output uses Rich; ``--json`` prints exactly one JSON document on stdout.
Heavy imports happen inside the commands so ``--help`` stays instant.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from state import Settings, get_settings, validate_identifier
from tools.telemetry import install_trace_ids, telemetry_enabled

if TYPE_CHECKING:
    from tools.services import Services

__all__ = [
    "JsonOpt",
    "TenantOpt",
    "console",
    "err",
    "load_settings",
    "print_json",
    "progress_bar",
    "resolve_tenant",
    "run_command",
    "with_services",
]

T = TypeVar("T")

console = Console()
err = Console(stderr=True)

TenantOpt = Annotated[str | None, typer.Option("--tenant", help="Tenant id (default: settings).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def load_settings() -> Settings:
    """The settings, or a clear configuration error and exit code 2."""
    try:
        settings = get_settings()
    except Exception as exc:
        err.print(f"[red]Invalid configuration:[/red] {exc}")
        raise typer.Exit(2) from exc
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    if telemetry_enabled():  # log lines carry the trace they belong to
        install_trace_ids()
        for handler in logging.getLogger().handlers:
            handler.setFormatter(
                logging.Formatter("%(levelname)s %(name)s [trace %(trace_id)s]: %(message)s")
            )
    return settings


def resolve_tenant(settings: Settings, tenant: str | None) -> str:
    """The ``--tenant`` given (or the default tenant), validated; exit code 2 if invalid."""
    try:
        return validate_identifier(tenant or settings.default_tenant, "tenant")
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def run_command(coro: Callable[[], Awaitable[T]]) -> T:
    """Run a command's coroutine; Ctrl-C and refused threads exit cleanly."""
    from graph.handover import ResumeError
    from tools.resilience.errors import StoreUnavailableError, ThreadAccessError, store_fault

    try:
        return asyncio.run(coro())  # type: ignore[arg-type]
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except (ThreadAccessError, ResumeError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    except StoreUnavailableError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(3) from exc
    except Exception as exc:
        if not store_fault(exc):
            raise
        err.print(f"[red]{StoreUnavailableError()} ({type(exc).__name__})[/red]")
        raise typer.Exit(3) from exc


def progress_bar(hidden: bool) -> Any:
    """The progress bar long commands draw on stderr (hidden for ``--json``)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=hidden,
        transient=True,
    )


def with_services(settings: Settings, use: Callable[[Services], Awaitable[T]]) -> T:
    """Start the services, run ``use`` with them, and always close them."""

    async def main() -> T:
        from tools.services import create_services

        services = await create_services(settings)
        try:
            return await use(services)
        finally:
            await services.aclose()

    return run_command(main)


def print_json(data: Any) -> None:
    """``--json`` output: one document on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
