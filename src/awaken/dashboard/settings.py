"""What ``awaken dashboard`` serves and where: checked before the server starts, with the caps of its forms.

The dashboard is safe by default: it binds to 127.0.0.1 unless told otherwise, it reads and writes
only inside its runs folder (which may not lie in awaken's own package or source tree, the rule of
:mod:`awaken.runs.destination`), and its forms refuse sizes above the caps below - the command line
takes larger runs.

Example
-------
>>> DashboardSettings().host
'127.0.0.1'
>>> CAPS["lung.mice"], CAPS["population.n"], CAPS["cohort.n"]
(16, 5000, 200000)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from awaken.errors import InputError
from awaken.runs.destination import protected_paths
from awaken.schemas import Flag, Integer

__all__ = ["DashboardSettings", "CAPS", "check_cap", "runs_folder", "inside"]

#: The largest sizes a dashboard form accepts (the command line and the Python API take more).
CAPS: dict[str, int] = {
    "lung.mice": 16,            # mice per group (awaken experiment run: up to 1000)
    "lung.days": 730,           # days per run (up to 3650)
    "population.n": 5000,       # accepted individuals (awaken population: no cap)
    "population.output_days": 20,
    "cohort.n": 200_000,        # survivors (awaken cohort: up to 10^8)
    "trial.size": 20_000,       # participants per explanation (awaken trial run: up to 10^7)
}


class DashboardSettings(BaseModel):
    """``awaken dashboard``'s options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    port: Integer = Field(5006, ge=1, le=65535, description="port to serve on")
    host: str = Field("127.0.0.1", min_length=1, description="address to bind (127.0.0.1: this machine only)")
    runs_folder: Path = Field(Path("runs"), description="the only folder the dashboard reads and writes")
    scheduler: str | None = Field(None, description="an existing Dask scheduler (tcp://HOST:PORT) for the work; "
                                                   "default: a LocalCluster of the dashboard's own")
    workers: Integer = Field(2, ge=1, le=16, json_schema_extra={"unit": "processes"},
                             description="worker processes of the dashboard's LocalCluster")
    inline: Flag = Field(False, description="run the work in the dashboard's own process (no Dask cluster)")


def check_cap(field: str, value: Any, cap_name: str) -> None:
    """Refuse a value above the dashboard's cap, naming the field."""
    cap = CAPS[cap_name]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > cap:
        raise InputError.field(field, f"the dashboard runs at most {cap:,}; use the command line for more", value)


def runs_folder(folder: str | Path, field: str = "runs_folder") -> Path:
    """The runs folder, resolved and created if need be; refused inside awaken's own tree or if a file."""
    path = Path(folder).expanduser().resolve()
    for protected in protected_paths():
        if path == protected or protected in path.parents or path in protected.parents:
            raise InputError.field(field, f"lies in or contains awaken's own package or source tree ({protected}); "
                                          f"choose a folder outside it", str(folder))
    if path.exists() and not path.is_dir():
        raise InputError.field(field, "exists and is not a directory", str(folder))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError.field(field, f"cannot be created ({err.strerror})", str(folder)) from None
    return path


def inside(folder: Path, path: str | Path) -> Path:
    """``path`` resolved, if it lies inside ``folder``; otherwise :class:`InputError` (the dashboard never
    reads or writes elsewhere, links included)."""
    resolved = (folder / path).resolve()
    if resolved != folder and folder not in resolved.parents:
        raise InputError.field("path", f"lies outside the dashboard's runs folder ({folder})", str(path))
    return resolved
