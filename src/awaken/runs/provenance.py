"""Provenance: one ``run.json`` format for every run directory awaken writes.

Every command that writes a directory - ``reproduce``, ``experiment run``, ``population``,
``cohort``, ``fit``, ``power``, ``analyze --out`` - records in ``run.json``:

=================  ==================================================================================
``format``         ``"awaken-run"`` (what makes a directory an awaken run, which ``--overwrite`` may replace)
``format_version`` 1
``kind``           the command (``reproduce``, ``experiment``, ``population``, ``cohort``, ``fit``, ...)
``complete``       true once everything is written (a resumable cohort run says false until then)
``awaken_version`` the installed version; ``git``: commit and whether the tree was dirty
``command``        the command line (or the Python call) that made it
``seed``           the random seed
``scenarios``      each scenario: ``name``, ``sha256`` of its canonical JSON and the ``scenario`` itself
``settings``       the run settings (sizes, tolerances, workers)
``results``        a short summary of what was found (acceptance rate, rows per table, power)
``host``           host name, platform, Python, CPU count
``started``        UTC start; ``finished``: UTC end
``dependencies``   versions of the packages the numbers depend on
=================  ==================================================================================

Example
-------
>>> record = provenance(kind="example", command=["awaken", "example"], seed=1, started=utc_now())
>>> record["format"], record["kind"], record["complete"]
('awaken-run', 'example', True)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import socket
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["provenance", "python_call", "scenario_record", "read_provenance", "is_awaken_run", "utc_now", "version",
           "FORMAT", "FORMAT_VERSION", "PROVENANCE_FILE", "DEPENDENCIES"]

FORMAT = "awaken-run"
FORMAT_VERSION = 1
PROVENANCE_FILE = "run.json"
#: Provenance files of earlier awaken releases (a cohort directory kept its own manifest).
_LEGACY_FILES = ("cohort.json",)
#: Packages whose versions are recorded: everything the numbers depend on.
DEPENDENCIES = ("numpy", "scipy", "sympy", "numba", "llvmlite", "pandas", "pyarrow", "pydantic", "pyyaml", "typer",
                "rich", "matplotlib", "jinja2", "dask", "distributed", "duckdb", "libroadrunner", "python-libsbml",
                "petab", "pypesto", "h5py", "starsim-data")


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def version() -> str:
    """The installed awaken version (``0+unknown`` when running from a source tree)."""
    try:
        return metadata.version("awaken")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@lru_cache(maxsize=1)
def _git() -> dict[str, Any]:
    source = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip() != ""
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


@lru_cache(maxsize=1)
def _dependencies() -> dict[str, str | None]:
    versions = {}
    for name in DEPENDENCIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def python_call(function: str, **arguments: Any) -> list[str]:
    """How a run made from Python is recorded as its "command": ``["python", "awaken.f(a=1, ...)"]``."""
    shown = ", ".join(f"{k}={str(v)!r}" if isinstance(v, Path) else f"{k}={v!r}" for k, v in arguments.items()
                      if v is not None)
    return ["python", f"awaken.{function}({shown})"]


def scenario_record(scenario: Any) -> dict[str, Any]:
    """``{name, sha256, scenario}`` of a scenario model (anything with ``name``, ``sha256()`` and
    ``model_dump()``)."""
    return {"name": scenario.name, "sha256": scenario.sha256(), "scenario": scenario.model_dump(mode="json")}


def provenance(*, kind: str, command: list[str] | None, seed: int | None, started: str,
               finished: str | None = None, scenarios: list[Any] = (), settings: dict[str, Any] | None = None,
               results: dict[str, Any] | None = None, complete: bool = True) -> dict[str, Any]:
    """The contents of ``run.json`` (see the module docstring). ``scenarios`` are scenario models or
    records from :func:`scenario_record`."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "complete": complete,
        "awaken_version": version(),
        "git": dict(_git()),
        "command": list(command) if command is not None else list(sys.argv),
        "seed": seed,
        "scenarios": [s if isinstance(s, dict) else scenario_record(s) for s in scenarios],
        "settings": settings or {},
        "results": results or {},
        "host": {"hostname": socket.gethostname(), "platform": platform.platform(),
                 "python": sys.version.split()[0], "cpus": os.cpu_count()},
        "started": started,
        "finished": finished or utc_now(),
        "dependencies": dict(_dependencies()),
    }


def read_provenance(directory: str | Path) -> dict[str, Any] | None:
    """The provenance of a run directory, or None if it is not one (legacy manifests included)."""
    directory = Path(directory)
    for name in (PROVENANCE_FILE, *_LEGACY_FILES):
        path = directory / name
        if path.is_file():
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
            if isinstance(record, dict) and (record.get("format") == FORMAT or "awaken_version" in record):
                return record
    return None


def is_awaken_run(directory: str | Path) -> bool:
    """Whether ``directory`` holds an awaken run (its provenance file says so)."""
    return read_provenance(directory) is not None
