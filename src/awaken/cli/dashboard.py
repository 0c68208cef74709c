"""``awaken dashboard``: serve the laboratory's web app (:mod:`awaken.dashboard`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from awaken.cli.apps import app, console, user_errors


def _help(name: str) -> str:
    from awaken.dashboard.settings import DashboardSettings
    from awaken.schemas import describe_field

    return describe_field(DashboardSettings, name)


@app.command()
def dashboard(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", help=_help("port"))] = 5006,
    host: Annotated[str, typer.Option("--host", help=_help("host"))] = "127.0.0.1",
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help=_help("scheduler"))] = None,
    runs_folder: Annotated[Path, typer.Option("--runs-folder", help=_help("runs_folder"))] = Path("runs"),
    workers: Annotated[int, typer.Option("--workers", help=_help("workers"))] = 2,
    inline: Annotated[bool, typer.Option("--inline", help=_help("inline"))] = False,
) -> None:
    """Serve the dashboard (lung, virtual population, cohort, trials, runs) until Ctrl-C.

    Binds to 127.0.0.1 unless --host says otherwise; reads and writes only inside --runs-folder.
    """
    from awaken.dashboard import serve

    with user_errors(ctx):
        serve(port, host, runs_folder, scheduler=scheduler, workers=workers, inline=inline,
              ready=lambda url: console.print(f"awaken dashboard: open {url} (Ctrl-C to stop)"))
