"""Where a run may be written: checked before any work, so that nothing the user owns is ever replaced.

:func:`check_destination` refuses, naming the field (``out``) and why:

* a path inside the installed awaken package or the source tree (``src/``, ``tests/``, ``docs/``, ...);
* a destination that exists and is a file, or a directory holding anything that is not an awaken
  run - even with ``overwrite``: awaken never deletes what it did not write;
* an awaken run that exists, unless ``overwrite`` is given;
* a destination that cannot be created (a parent that is a file, a folder that cannot be written).

Example
-------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     check_destination(pathlib.Path(tmp) / "new") is None
True
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from awaken.errors import InputError
from awaken.runs.provenance import read_provenance

__all__ = ["check_destination", "check_file", "protected_paths"]

_PACKAGE = Path(__file__).resolve().parents[1]


def protected_paths() -> list[Path]:
    """The installed package and, in a source checkout, its tracked folders: never written to."""
    paths = [_PACKAGE]
    root = _PACKAGE.parent.parent
    if _PACKAGE.parent.name == "src" and (root / "pyproject.toml").is_file():
        paths += [root / name for name in ("src", "tests", "docs", "benchmarks", "examples", ".git", ".ci")]
    return paths


def _inside(path: Path, other: Path) -> bool:
    return path == other or other in path.parents


def _nearest_existing(path: Path) -> Path:
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def check_destination(destination: str | Path, *, overwrite: bool = False, field: str = "out",
                      allow_existing_run: bool = False) -> Path | None:
    """Check that a run may be written at ``destination``; return the awaken run there (to be
    replaced or resumed), or None. Raises :class:`InputError` naming ``field`` otherwise.

    ``allow_existing_run``: an existing awaken run is accepted without ``overwrite`` (a resumable
    run decides itself whether it can continue it)."""
    try:
        return _check(Path(destination), overwrite, field, allow_existing_run)
    except OSError as err:  # a name too long, a loop of links, ...
        raise InputError.field(field, f"cannot be used ({err.strerror or err})", destination) from None


def _check(destination: Path, overwrite: bool, field: str, allow_existing_run: bool) -> Path | None:
    resolved = destination.resolve()
    for protected in protected_paths():
        what = "package" if protected == _PACKAGE else "source tree"
        if _inside(resolved, protected):
            raise InputError.field(field, f"lies in awaken's own {what} ({protected}); choose a directory outside it",
                                   destination)
        if _inside(protected, resolved):
            raise InputError.field(field, f"contains awaken's own {what} ({protected}); choose a directory outside it",
                                   destination)
    if destination.exists():
        if not destination.is_dir():
            raise InputError.field(field, "exists and is not a directory", destination)
        if read_provenance(destination) is not None:
            if not (overwrite or allow_existing_run):
                raise InputError.field(field, "already holds an awaken run; choose a new directory", destination,
                                       remedy="overwrite")
            return destination
        if any(destination.iterdir()):
            raise InputError.field(field, "exists and holds files that are not an awaken run; choose a new or empty "
                                          "directory (awaken never deletes what it did not write)", destination)
        return None
    existing = _nearest_existing(resolved.parent)
    if not existing.is_dir():
        raise InputError.field(field, f"cannot be created: {existing} is a file", destination)
    try:  # the real test of writability (os.access says yes to root on read-only file systems)
        probe = tempfile.mkdtemp(prefix=".awaken-probe-", dir=existing)
        os.rmdir(probe)
    except OSError as err:
        raise InputError.field(field, f"cannot be created: writing in {existing} fails ({err.strerror})",
                               destination) from None
    return None


def check_file(path: str | Path, *, field: str, overwrite: bool, ours: Callable[[Path], bool]) -> Path:
    """Check that a single file (an export) may be written at ``path``: not in awaken's own tree,
    in a directory that exists and can be written, and - if a file is there - only with
    ``overwrite`` and only if ``ours(path)`` says awaken wrote it. Returns the path."""
    path = Path(path)
    try:
        resolved = path.resolve()
        for protected in protected_paths():
            if _inside(resolved, protected):
                raise InputError.field(field, f"lies in awaken's own package or source tree ({protected})", path)
        if not path.parent.is_dir():
            raise InputError.field(field, f"directory {path.parent} does not exist", path)
        if path.is_dir():
            raise InputError.field(field, "is a directory", path)
        if path.exists():
            if not overwrite:
                raise InputError.field(field, "already exists; choose a new name", path, remedy="overwrite")
            if not ours(path):
                raise InputError.field(field, "exists and was not written by awaken; choose a new name (awaken never "
                                              "replaces what it did not write)", path)
        probe = tempfile.mkstemp(prefix=".awaken-probe-", dir=path.parent)
        os.close(probe[0])
        os.unlink(probe[1])
    except OSError as err:
        raise InputError.field(field, f"cannot be written ({err.strerror or err})", path) from None
    return path
