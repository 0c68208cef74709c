"""Files that appear whole or not at all, and values made safe for JSON.

Every file awaken writes outside a run directory's temporary folder (a marker, a manifest, an
exported model) is written under a hidden temporary name in the same directory and renamed into
place: a reader never sees half a file, and a crash leaves at most a hidden ``.NAME.*.tmp``.

Example
-------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = write_json(pathlib.Path(tmp) / "a.json", {"x": float("inf")})
...     path.read_text()
'{\\n  "x": null\\n}\\n'
"""

from __future__ import annotations

import json
import math
import os
import uuid
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["atomic_write_bytes", "atomic_write_text", "write_json", "jsonable", "temporary_sibling"]


def temporary_sibling(path: Path) -> Path:
    """A hidden, unique name next to ``path`` for writing it before the rename."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling and a rename."""
    path = Path(path)
    tmp = temporary_sibling(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, data: Any) -> Path:
    """``data`` as indented JSON (infinities and NaN as null), written atomically."""
    return atomic_write_text(path, json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n")


def jsonable(value: Any) -> Any:
    """JSON-safe copy: infinities and NaN become null (an open end of a band, a missing estimate),
    NumPy scalars Python numbers, dataclasses dicts, tuples lists."""
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if math.isinf(value) or math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
