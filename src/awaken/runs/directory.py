"""Run directories: every output of a run in one folder that is complete or not there at all.

A :class:`RunDirectory` is checked when it is made - before any simulation starts - by
:func:`awaken.runs.destination.check_destination`: never inside awaken's own package or source
tree, never over anything that is not an awaken run (not even with ``overwrite``), an existing
awaken run only with ``overwrite`` (replaced when the new one is complete), never where it cannot
be created.

Entering it (``with RunDirectory(...) as run:``) takes a lock, so that a second process writing
the same destination stops at once instead of running the whole job; turns SIGTERM into
``KeyboardInterrupt`` so that a terminated run cleans up like an interrupted one; and sweeps the
temporary folders that killed runs (``kill -9``) left behind, if their process is gone
(:mod:`awaken.runs.leftovers`).

Two kinds of run:

* **atomic** (the default): the run is assembled in a hidden ``.NAME.partial-<hex>`` folder next to
  its destination and renamed into place when everything, ``run.json`` included, is written; if
  anything fails, the folder is removed.
* **resumable** (a cohort): the run is written in place, unit by unit; each finished unit leaves a
  marker (:meth:`RunDirectory.mark_done`), ``run.json`` says ``"complete": false`` until the end, and
  a later run with the same settings skips the units already done.

``run.json`` (:mod:`awaken.runs.provenance`) is written by the directory itself, from what the
caller declared when making it plus ``results`` set during the run.

Example
-------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     with RunDirectory(pathlib.Path(tmp) / "run", kind="example", seed=0) as run:
...         _ = run.write_text("hello.txt", "hi")
...     sorted(p.name for p in (pathlib.Path(tmp) / "run").iterdir())
['hello.txt', 'run.json']
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from awaken.errors import InputError
from awaken.runs.destination import check_destination
from awaken.runs.files import atomic_write_bytes, atomic_write_text, jsonable, temporary_sibling
from awaken.runs.leftovers import LOCK_SUFFIX, PARTIAL_MARKER, lock_holder, owner_record, sweep_stale
from awaken.runs.provenance import PROVENANCE_FILE, provenance, read_provenance, utc_now

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RunDirectory", "mark_done", "MARKERS"]

#: Folder of a resumable run's per-unit markers.
MARKERS = "_blocks"


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM (main thread only) while the block runs; they are delivered after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"terminated by signal {signum}")


# ---------------------------------------------------------------- the run directory
class RunDirectory:
    """Context manager: write into :attr:`path`; on success the run is at ``destination``.

    ``kind``, ``command``, ``seed``, ``scenarios`` and ``settings`` are recorded in ``run.json``
    (see :mod:`awaken.runs.provenance`); set :attr:`results` during the run to record what it found.
    """

    def __init__(self, destination: str | Path, *, kind: str = "run", command: list[str] | None = None,
                 seed: int | None = None, scenarios: list[Any] = (), settings: dict[str, Any] | None = None,
                 overwrite: bool = False, resumable: bool = False, field: str = "out") -> None:
        self.destination = Path(destination)
        self.overwrite = overwrite
        self.resumable = resumable
        self.field = field
        self.kind = kind
        self.command = command
        self.seed = seed
        self.scenarios = list(scenarios)
        self.settings = jsonable(settings or {})
        self.results: dict[str, Any] = {}
        existing = check_destination(self.destination, overwrite=overwrite, field=field,
                                     allow_existing_run=resumable)
        self.resuming = False
        if resumable and existing is not None and not overwrite:
            previous = read_provenance(existing) or {}
            theirs = previous.get("settings", {})
            if previous.get("kind") != kind:
                raise InputError.field(field, f"holds another kind of awaken run ({previous.get('kind', 'unknown')}, "
                                              f"not {kind}); choose a new directory", self.destination,
                                       remedy="overwrite")
            if theirs != self.settings:
                changed = [k for k in sorted(set(theirs) | set(self.settings)) if theirs.get(k) != self.settings.get(k)]
                detail = ", ".join(f"{k} ({theirs.get(k)} there, {self.settings.get(k)} now)" for k in changed)
                raise InputError.field(field, f"holds a {kind} run with other settings ({detail}); choose a new "
                                              f"directory", self.destination, remedy="overwrite")
            self.resuming = True
        self._replace = existing is not None and overwrite
        self.path = self.destination if resumable else \
            self.destination.parent / f".{self.destination.name}.partial-{uuid.uuid4().hex[:8]}"
        self.started: str | None = None
        self.record: dict[str, Any] | None = None
        self._lock_fd: int | None = None
        self._lock_path = self.destination.parent / f".{self.destination.name}{LOCK_SUFFIX}"
        self._previous_handler: Any = None
        self._created = False

    # -- life cycle
    def __enter__(self) -> RunDirectory:
        self.destination.parent.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            sweep_stale(self.destination.parent)
            self._install_terminate_handler()
            self.started = utc_now()
            if self.resumable:
                self._enter_resumable()
            else:
                self.path.mkdir()
                atomic_write_text(self.path / PARTIAL_MARKER, json.dumps(owner_record()))
        except BaseException:
            self._restore_terminate_handler()
            self._unlock()
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if self.resumable:
                self._exit_resumable(exc_type)
            else:
                self._exit_atomic(exc_type)
        finally:
            self._restore_terminate_handler()
            self._unlock()

    def _enter_resumable(self) -> None:
        if self._replace:
            shutil.rmtree(self.destination)
        self._created = not self.destination.exists()
        self.destination.mkdir(parents=True, exist_ok=True)
        (self.destination / MARKERS).mkdir(exist_ok=True)
        for stray in self.destination.rglob(".*.tmp"):
            stray.unlink(missing_ok=True)
        self._write_provenance(complete=False)

    def _exit_resumable(self, exc_type: Any) -> None:
        if exc_type is None:
            if self.record is None:
                self.finish()
        elif self._created and not self.done():
            shutil.rmtree(self.destination, ignore_errors=True)  # nothing was finished: leave nothing behind

    def _exit_atomic(self, exc_type: Any) -> None:
        if exc_type is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        try:
            if self.record is None:
                self.finish()
        except BaseException:
            shutil.rmtree(self.path, ignore_errors=True)
            raise
        with _signals_held():  # Ctrl-C or SIGTERM during the swap takes effect after it, not half-way
            self._swap()

    def _swap(self) -> None:
        """Put the finished run in place (replacing an earlier run when asked), then drop its marker."""
        previous = None
        if self.destination.exists() and read_provenance(self.destination) is not None and self._replace:
            previous = self.destination.parent / f".{self.destination.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(self.destination, previous)
            atomic_write_text(previous / PARTIAL_MARKER, json.dumps(owner_record()))
        try:
            os.replace(self.path, self.destination)
        except OSError as err:
            shutil.rmtree(self.path, ignore_errors=True)
            if previous is not None:
                os.replace(previous, self.destination)
                (self.destination / PARTIAL_MARKER).unlink(missing_ok=True)
            raise InputError.field(self.field, f"could not be put in place ({err.strerror}); did something else write "
                                               f"there during the run?", self.destination) from None
        (self.destination / PARTIAL_MARKER).unlink(missing_ok=True)
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)

    def finish(self, results: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write ``run.json`` now (finished, complete) and return it, e.g. for a report that shows it;
        otherwise the run writes it when it ends."""
        if results is not None:
            self.results = results
        self.record = self._write_provenance(complete=True)
        return self.record

    def _write_provenance(self, complete: bool) -> dict[str, Any]:
        record = jsonable(provenance(kind=self.kind, command=self.command, seed=self.seed,
                                     started=self.started or utc_now(), scenarios=self.scenarios,
                                     settings=self.settings, results=self.results, complete=complete))
        atomic_write_text(self.path / PROVENANCE_FILE, json.dumps(record, indent=2, allow_nan=False) + "\n")
        return record

    # -- locking and signals
    def _lock(self) -> None:
        for _ in range(10):
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                holder = lock_holder(self._lock_path) or {}
                raise InputError.field(self.field, f"another awaken process (pid {holder.get('pid', 'unknown')}) is "
                                                   f"writing it; wait for it to finish or choose another directory",
                                       self.destination) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self._lock_path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, json.dumps({"awaken_lock": True, **owner_record()}).encode())
                self._lock_fd = fd
                return
            os.close(fd)  # the holder removed the file while we waited for it: lock the new one
        raise InputError.field(self.field, "could not be locked", self.destination)

    def _unlock(self) -> None:
        if self._lock_fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._lock_path)
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)
        self._lock_fd = None

    def _install_terminate_handler(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGTERM, _raise_interrupt)

    def _restore_terminate_handler(self) -> None:
        if self._previous_handler is not None:
            signal.signal(signal.SIGTERM, self._previous_handler)
            self._previous_handler = None

    # -- resumable units
    def done(self) -> dict[str, Any]:
        """Finished units of a resumable run: name -> what its marker recorded."""
        folder = self.path / MARKERS
        return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))} if folder.is_dir() else {}

    def mark_done(self, unit: str, payload: Any) -> None:
        mark_done(self.path, unit, payload)

    # -- writing
    def file(self, relative: str) -> Path:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_text(self, relative: str, text: str) -> Path:
        return atomic_write_text(self.file(relative), text)

    def write_bytes(self, relative: str, data: bytes) -> Path:
        return atomic_write_bytes(self.file(relative), data)

    def write_json(self, relative: str, data: Any) -> Path:
        return self.write_text(relative, json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n")

    def write_parquet(self, relative: str, frame: pd.DataFrame) -> Path:
        target = self.file(relative)
        tmp = temporary_sibling(target)
        try:
            frame.to_parquet(tmp, engine="pyarrow", index=False, compression="zstd")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    @contextlib.contextmanager
    def parquet_stream(self, relative: str) -> Iterator[Callable[[Mapping[str, Any]], None]]:
        """``with run.parquet_stream("t.parquet") as write: write(columns)`` - a table written batch by
        batch (name -> NumPy array; one row group each, zstd), so that it is never whole in memory.
        The file appears when the block ends without an error; at least one batch must be written."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        target = self.file(relative)
        tmp = temporary_sibling(target)
        writer: Any = None

        def write(columns: Mapping[str, Any]) -> None:
            nonlocal writer
            table = pa.table(dict(columns))
            if writer is None:
                # Dictionary encoding only where values repeat (not measured floats): 2.6x faster to
                # write a population's read-outs, and smaller files.
                repeating = [f.name for f in table.schema if not pa.types.is_floating(f.type)]
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd", use_dictionary=repeating)
            writer.write_table(table)

        try:
            yield write
            if writer is None:
                raise ValueError(f"{relative}: nothing was written")
            writer.close()
            writer = None
            os.replace(tmp, target)
        finally:
            if writer is not None:
                writer.close()
            tmp.unlink(missing_ok=True)

    def save_figure(self, stem: str, figure: Any) -> dict[str, Path]:
        """Save ``figure`` as ``figures/<stem>.png`` (200 dpi) and ``.svg``."""
        out = {}
        for ext, kwargs in (("png", {"dpi": 200}), ("svg", {"metadata": {"Date": None}})):
            target = self.file(f"figures/{stem}.{ext}")
            figure.savefig(target, format=ext, bbox_inches="tight", **kwargs)
            out[ext] = target
        return out


def mark_done(root: str | Path, unit: str, payload: Any) -> None:
    """Record that ``unit`` of the resumable run at ``root`` is finished (callable on a Dask worker)."""
    atomic_write_text(Path(root) / MARKERS / f"{unit}.json", json.dumps(jsonable(payload), sort_keys=True))

