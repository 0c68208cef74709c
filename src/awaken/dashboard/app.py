"""The web app: one server, five pages, one set of background jobs.

:func:`serve` checks the settings (:class:`~awaken.dashboard.settings.DashboardSettings`), makes the
:class:`Context` every page shares - the runs folder, the caps, the :class:`~awaken.dashboard.jobs.Jobs`
that run the work on the runs layer - and serves the pages with Panel's Tornado server until
interrupted; then it cancels what still runs and stops the cluster it started.
"""

from __future__ import annotations

import errno
import faulthandler
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import panel as pn

from awaken.dashboard.jobs import Jobs
from awaken.dashboard.settings import CAPS, DashboardSettings, runs_folder
from awaken.errors import InputError
from awaken.schemas import validate

__all__ = ["Context", "serve", "PAGES", "make_routes"]

#: Route -> (title, module:class of the page).
PAGES: dict[str, tuple[str, str]] = {
    "lung": ("Lung", "awaken.dashboard.pages.lung:LungPage"),
    "population": ("Virtual population", "awaken.dashboard.pages.population:PopulationPage"),
    "cohort": ("Cohort", "awaken.dashboard.pages.cohort:CohortPage"),
    "trials": ("Trials", "awaken.dashboard.pages.trials:TrialsPage"),
    "runs": ("Runs", "awaken.dashboard.pages.runs:RunsPage"),
}


@dataclass
class Context:
    """What every page shares."""

    runs_folder: Path
    jobs: Jobs
    caps: dict[str, int] = field(default_factory=lambda: dict(CAPS))


def _header(current: str) -> Any:
    links = " · ".join(f"**{title}**" if route == current else f"[{title}](/{route})"
                       for route, (title, _) in PAGES.items())
    return pn.pane.Markdown(f"## awaken dashboard\n[Home](/) · {links}", css_classes=["nav"], margin=(0, 10))


def _page(route: str, context: Context) -> Callable[[], Any]:
    def build() -> Any:
        from importlib import import_module

        module, name = PAGES[route][1].split(":")
        page = getattr(import_module(module), name)(context)
        return pn.Column(_header(route), page.panel, sizing_mode="stretch_width")

    return build


def _index(context: Context) -> Callable[[], Any]:
    def build() -> Any:
        caps = "\n".join(f"- `{k}`: at most {v:,}" for k, v in context.caps.items())
        text = (
            "An interactive view of the in-silico laboratory (Chia et al., Nature 2025): respiratory viral "
            "infection wakes dormant breast-cancer cells in the lung through IL-6; CD4 T cells then hold back "
            "CD8 T cells.\n\n"
            "- **[Lung](/lung)**: a shipped experiment or your own (a form from the experiment schema), every mouse, "
            "the scorecard\n"
            "- **[Virtual population](/population)**: read-out distributions, envelope acceptance\n"
            "- **[Cohort](/cohort)**: a survivor cohort's scenario, the UK Biobank and Flatiron designs, "
            "incidence curves\n"
            "- **[Trials](/trials)**: in-silico trials\n"
            "- **[Runs](/runs)**: earlier run directories and their provenance\n\n"
            f"Work runs on: {context.jobs.describe()}. Reads and writes only in `{context.runs_folder}`. "
            f"Form caps (the command line takes more):\n\n{caps}")
        return pn.Column(_header(""), pn.pane.Markdown(text, css_classes=["index"]), sizing_mode="stretch_width")

    return build


def make_routes(context: Context) -> dict[str, Callable[[], Any]]:
    return {"/": _index(context), **{f"/{route}": _page(route, context) for route in PAGES}}


def _origins(host: str, port: int) -> list[str]:
    """Pages allowed to open the dashboard's websocket: those of the address it serves."""
    if host in ("127.0.0.1", "localhost", "::1"):
        return [f"127.0.0.1:{port}", f"localhost:{port}"]
    if host in ("0.0.0.0", "::"):
        return [f"*:{port}"]
    return [f"{host}:{port}"]


def serve(port: int = 5006, host: str = "127.0.0.1", runs: str | Path = "runs", *, scheduler: str | None = None,
          workers: int = 2, inline: bool = False, ready: Callable[[str], None] | None = None) -> None:
    """Serve the dashboard at ``http://host:port/`` until interrupted (bad settings: :class:`InputError`)."""
    settings = validate({"port": port, "host": host, "runs_folder": Path(runs), "scheduler": scheduler,
                         "workers": workers, "inline": inline}, DashboardSettings)
    folder = runs_folder(settings.runs_folder)
    jobs = Jobs(scheduler=settings.scheduler, workers=settings.workers, inline=settings.inline)
    context = Context(folder, jobs)
    pn.extension(notifications=False)
    url = f"http://{'[' + settings.host + ']' if ':' in settings.host else settings.host}:{settings.port}/"
    try:
        server = pn.serve(make_routes(context), port=settings.port, address=settings.host, show=False, start=False,
                          websocket_origin=_origins(settings.host, settings.port), title="awaken dashboard")
    except OSError as err:  # checked before anything runs: the port taken or not allowed, an unknown address
        jobs.close()
        field = "host" if isinstance(err, socket.gaierror) or err.errno == errno.EADDRNOTAVAIL else "port"
        value = settings.host if field == "host" else settings.port
        raise InputError.field(field, f"cannot be served on {settings.host}:{settings.port} "
                                      f"({err.strerror or err})", value) from None

    def stop(*_: Any) -> None:  # SIGTERM ends the server as Ctrl-C does: jobs cancelled, cluster stopped
        raise KeyboardInterrupt

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, stop)
        faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1 <pid>: every thread's stack, for hangs
    try:
        server.start()
        if ready is not None:
            ready(url)
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        jobs.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
            faulthandler.unregister(signal.SIGUSR1)
