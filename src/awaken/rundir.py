"""Run directories: every output of a run in one folder that appears complete or not at all.

A run is assembled in a hidden temporary folder next to its destination and renamed into place
only when everything has been written; if anything fails, the temporary folder is removed, so no
half-written run is ever left behind. ``run.json`` records the provenance (awaken version, git
commit, scenarios and their hashes, seed, command line, dependency versions, start and end time).

Example
-------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     with RunDirectory(pathlib.Path(tmp) / "run") as run:
...         _ = run.write_text("hello.txt", "hi")
...     sorted(p.name for p in (pathlib.Path(tmp) / "run").iterdir())
['hello.txt']
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from awaken.config import ConfigError

__all__ = ["RunDirectory", "provenance", "utc_now", "DEPENDENCIES"]

#: Packages whose versions are recorded in run.json.
DEPENDENCIES = ("numpy", "scipy", "sympy", "pandas", "pyarrow", "pydantic", "pyyaml", "typer", "rich",
                "matplotlib", "jinja2")


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class RunDirectory:
    """Context manager: write into :attr:`path`; on success it becomes ``destination``."""

    def __init__(self, destination: str | Path, overwrite: bool = False) -> None:
        self.destination = Path(destination)
        self.overwrite = overwrite
        if self.destination.exists() and not overwrite:
            raise ConfigError(f"--out {self.destination}: already exists; choose a new directory or pass --overwrite")
        if self.destination.exists() and not self.destination.is_dir():
            raise ConfigError(f"--out {self.destination}: exists and is not a directory")
        self.path = self.destination.parent / f".{self.destination.name}.partial-{uuid.uuid4().hex[:8]}"

    def __enter__(self) -> RunDirectory:
        self.destination.parent.mkdir(parents=True, exist_ok=True)
        self.path.mkdir()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        previous = None
        if self.destination.exists():
            previous = self.destination.parent / f".{self.destination.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(self.destination, previous)
        os.replace(self.path, self.destination)
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)

    def file(self, relative: str) -> Path:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_text(self, relative: str, text: str) -> Path:
        target = self.file(relative)
        target.write_text(text, encoding="utf-8")
        return target

    def write_json(self, relative: str, data: Any) -> Path:
        return self.write_text(relative, json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n")

    def write_parquet(self, relative: str, frame: pd.DataFrame) -> Path:
        target = self.file(relative)
        frame.to_parquet(target, engine="pyarrow", index=False, compression="zstd")
        return target

    def save_figure(self, stem: str, figure: Any) -> dict[str, Path]:
        """Save ``figure`` as ``figures/<stem>.png`` (200 dpi) and ``.svg``."""
        out = {}
        for ext, kwargs in (("png", {"dpi": 200}), ("svg", {"metadata": {"Date": None}})):
            target = self.file(f"figures/{stem}.{ext}")
            figure.savefig(target, format=ext, bbox_inches="tight", **kwargs)
            out[ext] = target
        return out


def _git_commit() -> dict[str, Any]:
    source = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip() != ""
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def provenance(*, command: list[str], scenarios: list[dict[str, Any]], seed: int | None, started: str,
               finished: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The contents of ``run.json``. ``scenarios`` are dicts with ``name``, ``sha256`` and ``scenario``."""
    from awaken import __version__

    versions = {}
    for name in DEPENDENCIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "awaken_version": __version__,
        "git": _git_commit(),
        "command": command,
        "seed": seed,
        "scenarios": scenarios,
        "started": started,
        "finished": finished,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "dependencies": versions,
        **(extra or {}),
    }
