"""What killed runs leave behind, and clearing it: temporary folders and lock files of processes that are gone.

A run's temporary folder carries :data:`PARTIAL_MARKER`, naming its process (pid, host, start
time, so that a reused pid is not mistaken for it). :func:`sweep_stale` removes the temporary
folders and lock files of processes on this host that no longer run - never a folder without
awaken's marker, never one of a live process.

Example
-------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     sweep_stale(pathlib.Path(tmp))
[]
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any

from awaken.runs.provenance import utc_now

__all__ = ["PARTIAL_MARKER", "LOCK_SUFFIX", "owner_record", "sweep_stale", "lock_holder"]

#: File inside a temporary folder that says which process owns it.
PARTIAL_MARKER = ".awaken-partial.json"
#: A run's lock is ``.NAME`` + this, next to the run, holding its owner record (with ``"awaken_lock": true``).
LOCK_SUFFIX = ".awaken-lock"


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), to tell it from a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2:].split()[19]
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return start is None or _process_start(pid) in (None, start)


def owner_record() -> dict[str, Any]:
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "process_start": _process_start(pid), "started": utc_now()}


def _stale(folder: Path) -> bool:
    """Whether a temporary folder belongs to a process on this host that no longer runs."""
    try:
        owner = json.loads((folder / PARTIAL_MARKER).read_text())
    except (OSError, ValueError):
        return False
    return owner.get("host") == socket.gethostname() and not _alive(int(owner["pid"]), owner.get("process_start"))


def sweep_stale(parent: Path) -> list[Path]:
    """Remove the temporary folders of dead awaken runs in ``parent`` (only folders carrying awaken's
    owner marker); returns what was removed."""
    removed = []
    if not parent.is_dir():
        return removed
    for folder in [*parent.glob(".*.partial-*"), *parent.glob(".*.old-*")]:
        if folder.is_dir() and _stale(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    for lock in parent.glob(f".*{LOCK_SUFFIX}"):
        if _unheld_lock_removed(lock):
            removed.append(lock)
    return removed


def lock_holder(path: Path) -> dict[str, Any] | None:
    """The owner record in an awaken lock file, or None if it is not one (or cannot be read)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("awaken_lock") is True else None


def _unheld_lock_removed(path: Path) -> bool:
    """Remove an awaken lock file that no process holds and whose process on this host is gone."""
    holder = lock_holder(path)
    if holder is None or holder.get("host") != socket.gethostname():
        return False
    if _alive(int(holder.get("pid", 0)), holder.get("process_start")):
        return False
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    try:
        path.unlink()
        return True
    except OSError:
        return False
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
