"""The study's two designs on records, from Python: the twins of ``awaken analyze ukb|flatiron``.

``records`` is a directory (an ``awaken cohort`` run, or ``<table>.parquet``/``<table>.csv`` files
in the documented schema, ``docs/data.md``) or tables already in memory. Either is checked for
records that cannot be true (``awaken.records.RULES``) and refused, or with ``drop_implausible``
the persons concerned are left out and counted in the result's ``counts``. With ``out`` the result
is kept as a run directory (``analysis.json`` and ``run.json``).

Example
-------
>>> import tempfile, pathlib, awaken
>>> with tempfile.TemporaryDirectory() as tmp:
...     run = awaken.simulate_cohort(n=20_000, seed=3, out=pathlib.Path(tmp) / "c", inline=True)
...     result = awaken.analyze_ukb(run.out)
>>> result.odds_ratios.index.tolist()
['crude', 'adjusted']
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from awaken.errors import InputError
from awaken.records import REQUIRED_TABLES, CheckedRecords, check_records, load_records
from awaken.runs.directory import RunDirectory
from awaken.runs.provenance import python_call
from awaken.studies.flatiron import FlatironResult, FlatironSettings, flatiron_analysis
from awaken.studies.ukb import UKBResult, UKBSettings, ukb_analysis
from awaken.targets import published

__all__ = ["analyze_ukb", "analyze_flatiron", "load_records", "published"]

Records = str | Path | Mapping[str, pd.DataFrame]


def _check_out(records: Records, out: str | Path | None, overwrite: bool) -> None:
    """Refuse an output directory before the analysis: one awaken may not write, or the records themselves."""
    if out is None:
        return
    if not isinstance(records, Mapping):
        source, target = Path(records).resolve(), Path(out).resolve()
        if source == target or source in target.parents or target in source.parents:
            raise InputError.field("out", "is, holds or lies inside the records it reads; choose another directory",
                                   out)
    RunDirectory(out, overwrite=overwrite)


def _tables(records: Records, drop_implausible: bool) -> dict[str, pd.DataFrame]:
    """Checked tables: read from a directory, or in memory and checked here (unless already checked)."""
    if not isinstance(records, Mapping):
        return load_records(records, drop_implausible=drop_implausible)
    if isinstance(records, CheckedRecords) and (records.dropped is not None or not drop_implausible):
        return records
    missing = [name for name in REQUIRED_TABLES if name not in records]
    if missing:
        raise InputError.field("records", f"no {', '.join(missing)} table (the designs read "
                                          f"{', '.join(REQUIRED_TABLES)})")
    return check_records(dict(records), drop_implausible=drop_implausible, field="records")


def _keep(result: Any, kind: str, records: Records, out: str | Path | None, overwrite: bool,
          command: list[str] | None, function: str, drop_implausible: bool) -> None:
    if out is None:
        return
    source = None if isinstance(records, Mapping) else str(records)
    dropping = {"drop_implausible": True} if drop_implausible else {}  # recorded only when asked for
    with RunDirectory(out, kind=kind, overwrite=overwrite,
                      settings={"records": source, **dropping, **result.to_dict()["settings"]},
                      command=command or python_call(function, records=source, out=out, **dropping)) as run:
        run.write_json("analysis.json", result.to_dict())
        run.results = {"counts": result.counts}


def analyze_ukb(records: Records, settings: UKBSettings | None = None, *, drop_implausible: bool = False,
                out: str | Path | None = None, overwrite: bool = False, command: list[str] | None = None
                ) -> UKBResult:
    """UK Biobank design: SARS-CoV-2 test-positive vs test-negative survivors, cancer-specific death
    (odds ratios crude and adjusted; hazard ratios 0-12 and 12+ months after the positive test).
    ``drop_implausible``: leave out the persons with records that cannot be true instead of refusing."""
    _check_out(records, out, overwrite)
    result = ukb_analysis(_tables(records, drop_implausible), settings)
    _keep(result, "analysis-ukb", records, out, overwrite, command, "analyze_ukb", drop_implausible)
    return result


def analyze_flatiron(records: Records, settings: FlatironSettings | None = None, *, drop_implausible: bool = False,
                     out: str | Path | None = None, overwrite: bool = False, command: list[str] | None = None
                     ) -> FlatironResult:
    """Flatiron design: recorded COVID-19 as a time-varying exposure, lung metastasis with death
    competing (cause-specific hazard ratios, matched cumulative incidence).
    ``drop_implausible``: leave out the persons with records that cannot be true instead of refusing."""
    _check_out(records, out, overwrite)
    result = flatiron_analysis(_tables(records, drop_implausible), settings)
    _keep(result, "analysis-flatiron", records, out, overwrite, command, "analyze_flatiron", drop_implausible)
    return result
