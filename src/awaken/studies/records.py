"""Reading EHR-shaped records - a simulated cohort or a user's own files - for the analyses.

A records location is a directory holding, per table, either a sub-directory of Parquet files
(what ``awaken cohort`` writes) or one file ``<table>.parquet`` / ``<table>.csv``. Each table is
checked against the documented schema (``docs/data.md``; ``latent_`` columns optional) before any
analysis, and dates become ``datetime64``. The ``infections`` table (the truth) is never needed.

Example
-------
>>> from awaken.studies.records import REQUIRED_TABLES
>>> REQUIRED_TABLES
('patients', 'tests', 'metastases', 'deaths')
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from awaken.cohort.records import SCHEMAS, SchemaError, validate_table
from awaken.runs.provenance import read_provenance
from awaken.schemas import InputError

__all__ = ["REQUIRED_TABLES", "load_records"]

REQUIRED_TABLES = ("patients", "tests", "metastases", "deaths")


def _read(root: Path, name: str) -> pa.Table:
    directory, parquet, csv = root / name, root / f"{name}.parquet", root / f"{name}.csv"
    schema = SCHEMAS[name]
    if directory.is_dir():
        files = sorted(directory.glob("*.parquet"))
        if not files:
            raise InputError(f"{directory}: no Parquet files")
        return pa.concat_tables([pq.read_table(f) for f in files])
    if parquet.is_file():
        return pq.read_table(parquet)
    if csv.is_file():
        types = {f.name: f.type for f in schema}
        return pacsv.read_csv(csv, convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True))
    raise InputError(f"{root}: no {name} table (expected {name}/*.parquet, {name}.parquet or {name}.csv)")


def load_records(location: str | Path, tables: tuple[str, ...] = REQUIRED_TABLES) -> dict[str, pd.DataFrame]:
    """The checked tables of ``location`` as DataFrames with ``datetime64`` dates."""
    root = Path(location)
    if not root.is_dir():
        raise InputError(f"--cohort {root}: no such directory")
    record = read_provenance(root)
    if record is not None and record.get("kind") in ("cohort", None):
        if not record.get("complete", True):
            raise InputError(f"--cohort {root}: the cohort run has not finished; re-run it to complete it")
    out = {}
    for name in tables:
        table = _read(root, name)
        try:
            validate_table(name, table, required_only=True)
        except SchemaError as err:
            raise InputError(f"--cohort {root}: {err}") from None
        frame = table.to_pandas()
        for field in SCHEMAS[name]:
            if pa.types.is_date32(field.type) and field.name in frame:
                frame[field.name] = pd.to_datetime(frame[field.name])
        out[name] = frame
    return out
