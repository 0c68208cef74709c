"""Records: the EHR-shaped tables a cohort writes and the analyses read - one schema, defined once.

``docs/data.md`` documents these tables column by column (a test keeps the two in step). The
cohort (:mod:`awaken.cohort`) writes them; the study recipes (:mod:`awaken.studies`, ``awaken
analyze``) read exactly them, from a cohort directory or from a user's own registry or EHR extract
in the same shape (a directory of ``<table>.parquet`` or ``<table>.csv`` files). Every table is
checked against the schema before any analysis (:func:`load_records`) and dates become
``datetime64``. Columns whose name starts with ``latent_`` are the simulation's truth (never in a
real record; optional when reading); the ``infections`` table (the truth) is never needed.

Example
-------
>>> from awaken.records import SCHEMAS
>>> sorted(SCHEMAS)
['deaths', 'infections', 'metastases', 'patients', 'tests', 'vaccinations']
>>> SCHEMAS["deaths"].names
['person_id', 'date', 'cause']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from awaken.errors import InputError
from awaken.runs.provenance import read_provenance

__all__ = ["SCHEMAS", "TABLES", "CATEGORIES", "ONE_ROW_PER_PERSON", "REQUIRED_TABLES", "validate_table",
           "SchemaError", "load_records", "read_cohort", "cohort_connection"]

_string = pa.string()
SCHEMAS: dict[str, pa.Schema] = {
    "patients": pa.schema([
        ("person_id", pa.int64()), ("sex", _string), ("birth_date", pa.date32()), ("country", _string),
        ("cancer_type", _string), ("subtype", _string), ("er_status", _string), ("her2_status", _string),
        ("stage", _string), ("nodes", _string), ("diagnosis_date", pa.date32()), ("entry_date", pa.date32()),
        ("exit_date", pa.date32()), ("exit_reason", _string), ("latent_dcc_foci", pa.int32()),
    ]),
    "infections": pa.schema([
        ("person_id", pa.int64()), ("date", pa.date32()), ("pathogen", _string), ("wave", _string),
        ("vaccine_protection", pa.float64()), ("latent_fold_change", pa.float64()),
        ("latent_awakened", pa.bool_()),
    ]),
    "tests": pa.schema([
        ("person_id", pa.int64()), ("date", pa.date32()), ("pathogen", _string), ("result", _string),
    ]),
    "vaccinations": pa.schema([
        ("person_id", pa.int64()), ("date", pa.date32()), ("vaccine", _string),
    ]),
    "metastases": pa.schema([
        ("person_id", pa.int64()), ("date", pa.date32()), ("site", _string), ("latent_origin", _string),
    ]),
    "deaths": pa.schema([
        ("person_id", pa.int64()), ("date", pa.date32()), ("cause", _string),
    ]),
}
TABLES = tuple(SCHEMAS)
#: what the study recipes read (never the infections: the truth is not in a real record)
REQUIRED_TABLES = ("patients", "tests", "metastases", "deaths")
#: tables with at most one row per person (the first distant metastasis; death)
ONE_ROW_PER_PERSON = ("patients", "metastases", "deaths")

#: allowed values of the categorical columns (None: missing allowed)
CATEGORIES: dict[tuple[str, str], tuple[str | None, ...]] = {
    ("patients", "sex"): ("female", "male"),
    ("patients", "country"): ("united_kingdom", "united_states"),
    ("patients", "cancer_type"): ("breast", "other"),
    ("patients", "subtype"): ("hr_pos_her2_neg", "hr_pos_her2_pos", "hr_neg_her2_pos", "triple_negative", None),
    ("patients", "er_status"): ("positive", "negative", None),
    ("patients", "her2_status"): ("positive", "negative", None),
    ("patients", "stage"): ("I", "II", "III"),
    ("patients", "nodes"): ("N0", "N1-3", "N4-9", None),
    ("patients", "exit_reason"): ("death", "end_of_follow_up"),
    ("infections", "pathogen"): ("influenza", "sars_cov_2"),
    ("tests", "pathogen"): ("influenza", "sars_cov_2"),
    ("tests", "result"): ("positive", "negative"),
    ("vaccinations", "vaccine"): ("influenza", "covid_dose_1", "covid_dose_2", "covid_booster"),
    ("metastases", "site"): ("lung", "other"),
    ("metastases", "latent_origin"): ("background", "infection"),
    ("deaths", "cause"): ("cancer", "covid_19", "other"),
}


class SchemaError(ValueError):
    """A table does not follow the documented schema; the message names the table, column and rule."""


def validate_table(name: str, table: pa.Table, required_only: bool = False) -> None:
    """Check ``table`` against :data:`SCHEMAS` (columns, types, categories, no missing ids or dates).

    With ``required_only``, ``latent_`` columns may be absent (a real data set has none).
    """
    import pyarrow.compute as pc

    if name not in SCHEMAS:
        raise SchemaError(f"unknown table {name!r}: expected one of {', '.join(TABLES)}")
    schema = SCHEMAS[name]
    for field in schema:
        if field.name not in table.column_names:
            if required_only and field.name.startswith("latent_"):
                continue
            raise SchemaError(f"{name}: missing column {field.name!r} ({field.type})")
        column = table.column(field.name)
        if not column.type.equals(field.type):
            raise SchemaError(f"{name}.{field.name}: type {column.type}, expected {field.type}")
        if field.name in ("person_id", "date") and column.null_count:
            raise SchemaError(f"{name}.{field.name}: {column.null_count} missing values (not allowed)")
        allowed = CATEGORIES.get((name, field.name))
        if allowed is not None:
            values = set(pc.unique(column).to_pylist())
            bad = values - set(allowed)
            if bad:
                raise SchemaError(f"{name}.{field.name}: values {sorted(map(str, bad))} not in "
                                  f"{[a for a in allowed if a is not None]}")
    extra = set(table.column_names) - set(schema.names)
    if extra:
        raise SchemaError(f"{name}: unexpected columns {sorted(extra)}")
    if name in ONE_ROW_PER_PERSON:
        ids = table.column("person_id").to_numpy()
        unique, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            raise SchemaError(f"{name}.person_id: repeated values {unique[counts > 1][:5].tolist()} "
                              f"({name} has at most one row per person)")


def _check_complete(root: Path, field: str) -> None:
    record = read_provenance(root)
    if record is not None and record.get("kind") in ("cohort", None) and not record.get("complete", True):
        raise InputError.field(field, "the cohort run has not finished; re-run the same command to complete it", root)


def _read(root: Path, name: str, field: str) -> pa.Table:
    directory, parquet, csv = root / name, root / f"{name}.parquet", root / f"{name}.csv"
    schema = SCHEMAS[name]
    source = directory
    try:
        if directory.is_dir():
            files = sorted(directory.glob("*.parquet"))
            if not files:
                raise InputError.field(field, f"{directory} holds no Parquet files", root)
            tables = []
            for source in files:
                tables.append(pq.read_table(source))
            return pa.concat_tables(tables)
        if parquet.is_file():
            source = parquet
            return pq.read_table(parquet)
        if csv.is_file():
            source = csv
            types = {f.name: f.type for f in schema}
            return pacsv.read_csv(csv, convert_options=pacsv.ConvertOptions(column_types=types,
                                                                           strings_can_be_null=True))
    except (pa.ArrowException, OSError) as err:
        reason = " ".join(str(err).split())
        raise InputError.field(field, f"{source.name} cannot be read as the {name} table ({reason[:200]})",
                               root) from None
    raise InputError.field(field, f"no {name} table (expected {name}/*.parquet, {name}.parquet or {name}.csv)", root)


def _string_columns(table: pa.Table, name: str) -> pa.Table:
    """Large strings (what pandas 3 writes) as the schema's strings: the same text in another layout."""
    schema = SCHEMAS[name]
    for i, column in enumerate(table.schema):
        if pa.types.is_large_string(column.type) and column.name in schema.names \
                and pa.types.is_string(schema.field(column.name).type):
            table = table.set_column(i, column.name, table.column(i).cast(pa.string()))
    return table


def load_records(location: str | Path, tables: tuple[str, ...] = REQUIRED_TABLES, field: str = "cohort"
                 ) -> dict[str, pd.DataFrame]:
    """The checked tables of ``location`` as DataFrames with ``datetime64`` dates."""
    root = Path(location)
    if not root.is_dir():
        raise InputError.field(field, "no such directory", root)
    _check_complete(root, field)
    out = {}
    for name in tables:
        table = _string_columns(_read(root, name, field), name)
        try:
            validate_table(name, table, required_only=True)
        except SchemaError as err:
            raise InputError.field(field, str(err), root) from None
        frame = table.to_pandas()
        for column in SCHEMAS[name]:
            if pa.types.is_date32(column.type) and column.name in frame:
                frame[column.name] = pd.to_datetime(frame[column.name])
        out[name] = frame
    return out


def read_cohort(out: str | Path, tables: tuple[str, ...] = TABLES, allow_incomplete: bool = False
                ) -> dict[str, pd.DataFrame]:
    """A cohort directory's tables as DataFrames, rows in person order as written (dates as written)."""
    out = Path(out)
    if read_provenance(out) is None:
        raise InputError.field("cohort", "not a cohort directory (no run.json)", out)
    if not allow_incomplete:
        _check_complete(out, "cohort")
    frames = {}
    for name in tables:
        files = sorted((out / name).glob("block-*.parquet"))
        frames[name] = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True) if files else \
            pd.DataFrame()
    return frames


def cohort_connection(out: str | Path):
    """A DuckDB connection with one view per table over a cohort directory's Parquet files."""
    import duckdb

    out = Path(out)
    con = duckdb.connect()
    for name in TABLES:
        pattern = str(out / name / "block-*.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{pattern}')")
    return con
