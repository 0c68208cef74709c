"""Records: the EHR-shaped tables a cohort writes and the analyses read - one schema, defined once.

``docs/data.md`` documents these tables column by column (a test keeps the two in step). The
cohort (:mod:`awaken.cohort`) writes them; the study recipes (:mod:`awaken.studies`, ``awaken
analyze``) read exactly them, from a cohort directory or from a user's own registry or EHR extract
in the same shape (a directory of ``<table>.parquet`` or ``<table>.csv`` files). Every table is
checked against the schema before any analysis (:func:`load_records`), then for records that
cannot be true (:data:`RULES`: dates out of order, a record after death, an impossible age; refused,
or those persons dropped and counted on request), and dates become ``datetime64``. Columns whose
name starts with ``latent_`` are the simulation's truth (never in a real record; optional when
reading); the ``infections`` table (the truth) is never needed.

Example
-------
>>> from awaken.records import SCHEMAS
>>> sorted(SCHEMAS)
['deaths', 'infections', 'metastases', 'patients', 'tests', 'vaccinations']
>>> SCHEMAS["deaths"].names
['person_id', 'date', 'cause', 'latent_cause', 'latent_advanced_days']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from awaken.errors import MISSING, InputError
from awaken.runs.provenance import read_provenance

__all__ = ["SCHEMAS", "TABLES", "CATEGORIES", "ONE_ROW_PER_PERSON", "REQUIRED_TABLES", "validate_table",
           "SchemaError", "load_records", "read_cohort", "cohort_connection", "Rule", "RULES", "CheckedRecords",
           "check_records", "dropped_counts", "DATE_FORMAT", "EARLIEST_BIRTH", "MAX_AGE_YEARS"]

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
        ("latent_proliferating_cells", pa.float64()), ("latent_il6_peak", pa.float64()),
        ("latent_il6_raised_days", pa.float64()), ("latent_virus_peak", pa.float64()),
        ("latent_clearance_day", pa.float64()), ("latent_awakened", pa.bool_()),
    ]),
    "tests": pa.schema([
        ("person_id", pa.int64()), ("date", pa.date32()), ("pathogen", _string), ("result", _string),
    ]),
    "vaccinations": pa.schema([
        ("person_id", pa.int64()), ("date", pa.date32()), ("vaccine", _string),
    ]),
    "metastases": pa.schema([
        ("person_id", pa.int64()), ("date", pa.date32()), ("site", _string), ("latent_origin", _string),
        ("latent_advanced_days", pa.float64()),
    ]),
    "deaths": pa.schema([
        ("person_id", pa.int64()), ("date", pa.date32()), ("cause", _string), ("latent_cause", _string),
        ("latent_advanced_days", pa.float64()),
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
    ("deaths", "latent_cause"): ("cancer", "covid_19", "other"),
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
        # every date places a person in time (the plausibility rules compare them): none may be missing
        if (field.name == "person_id" or pa.types.is_date32(field.type)) and column.null_count:
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


#: the one date format of CSV records: ISO 8601 calendar dates (what the cohort's Parquet dates print as);
#: 01/03/2020 is the 1st of March in the UK and the 3rd of January in the US, so no other format is guessed
DATE_FORMAT = "YYYY-MM-DD"
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def _csv_column(column: pa.ChunkedArray, target: pa.DataType, where: str, field: str, root: Path) -> pa.Array:
    """A CSV column read as text, converted to the schema's type; a value that does not convert is
    named with its line (the header is line 1; records span one line each)."""
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(column.combine_chunks())
    present = np.asarray(text.is_valid())
    if pa.types.is_date32(target):
        iso = np.asarray(pc.match_substring_regex(text, _ISO_DATE).fill_null(True))
        parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
        # a day that does not exist (2020-02-30) parses as the next month's: it does not print back the same
        same = np.asarray(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), text).fill_null(False))
        bad = present & (~iso | ~same)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise InputError.field(field, f"{where}: {int(bad.sum()):,} of {len(text):,} values are not dates in the "
                                          f"one documented format {DATE_FORMAT} (ISO 8601), the first "
                                          f"{text[first].as_py()!r} on line {first + 2}", root)
        return parsed.cast(pa.date32())
    try:
        return text.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        for i, value in enumerate(text.to_pylist()):  # only on failure: find the first value that does not convert
            if value is not None:
                try:
                    pa.scalar(value).cast(target)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    raise InputError.field(field, f"{where}: {value!r} on line {i + 2} is not of type {target}",
                                           root) from None
        # every value converts alone but not the column together: still the column's fault, said as such
        raise InputError.field(field, f"{where}: the column does not convert to {target}", root) from None


def _read_csv(path: Path, name: str, field: str, root: Path) -> pa.Table:
    """A CSV table: every schema column read as text, then converted column by column, so that a
    value of the wrong kind is named by its column and line (not by the CSV parser's column number)."""
    schema = SCHEMAS[name]
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={f.name: pa.string() for f in schema}, strings_can_be_null=True))
    for target in schema:
        if target.name in table.column_names and not pa.types.is_string(target.type):
            i = table.schema.get_field_index(target.name)
            table = table.set_column(i, target.name, _csv_column(table.column(i), target.type,
                                                                 f"{path.name}, column {target.name}", field, root))
    return table


def _read(root: Path, name: str, field: str) -> pa.Table:
    directory, parquet, csv = root / name, root / f"{name}.parquet", root / f"{name}.csv"
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
            return _read_csv(csv, name, field, root)
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


# ---------------------------------------------------------------- records that cannot be true
#: earliest birth date: anyone born before 1880 would be older than MAX_AGE_YEARS at any date after 2003,
#: before any extract the designs read (UK Biobank recruited from 2006, Flatiron's EHR from 2011)
EARLIEST_BIRTH = dt.date(1880, 1, 1)
#: no one reaches this age at exit: the longest documented human life is 122 years and 164 days
MAX_AGE_YEARS = 123
#: offending persons named in a message (the count says how many more)
_SHOWN = 5


@dataclass(frozen=True)
class Rule:
    """A record that cannot be true: in ``table``, what is wrong (``name``, also the key of the
    dropped-persons count) and what must hold instead (``holds``)."""

    table: str
    name: str
    holds: str

    @property
    def key(self) -> str:
        return f"{self.table}_{self.name}"


_EVENTS = ("tests", "vaccinations", "infections", "metastases")
_AFTER_DEATH = "date on or before the death, patients.exit_date: nothing is recorded after death"
_AFTER_EXIT = "date on or before patients.exit_date, the end of follow-up: nothing is recorded after it"

#: the plausibility rules, in the order they are reported. What the schema (docs/data.md) makes true
#: by construction: birth <= diagnosis <= entry (entry is the later of diagnosis and the window start)
#: <= exit (death or the window end; zero follow-up is allowed), a death is the exit and nothing is
#: recorded after it. Tests, vaccinations and infections may precede entry (a person is tested before
#: a cancer diagnosis), not birth; a distant metastasis may precede entry (the designs exclude anyone
#: metastatic at their start) but not the diagnosis of a stage I-III cancer. The simulated cohort keeps
#: them all (tests/test_records_plausibility.py checks 100,000 survivors).
RULES: tuple[Rule, ...] = (
    Rule("patients", "born_before_1880", f"birth_date on or after {EARLIEST_BIRTH}"),
    Rule("patients", "birth_after_diagnosis", "birth_date on or before diagnosis_date"),
    Rule("patients", "diagnosis_after_entry", "diagnosis_date on or before entry_date, the later of diagnosis and "
                                              "the window start"),
    Rule("patients", "exit_before_entry", "entry_date on or before exit_date"),
    Rule("patients", "too_old", f"younger than {MAX_AGE_YEARS} years at exit_date; the longest documented human "
                                "life is 122 years"),
    Rule("patients", "death_not_recorded", "exit_reason death only with a row in deaths"),
    *(rule for table in _EVENTS for rule in (
        Rule(table, "unknown_person", "person_id in patients"),
        Rule(table, "before_diagnosis", "a first distant metastasis of a stage I-III cancer dated on or after "
                                        "patients.diagnosis_date") if table == "metastases" else
        Rule(table, "before_birth", "date on or after patients.birth_date"),
        Rule(table, "after_death", _AFTER_DEATH),
        Rule(table, "after_exit", _AFTER_EXIT))),
    Rule("deaths", "unknown_person", "person_id in patients"),
    Rule("deaths", "exit_reason_not_death", "a death only for a person whose exit_reason is death"),
    Rule("deaths", "not_on_exit_date", "date of death equal to patients.exit_date"),
)
_RULE = {(r.table, r.name): r for r in RULES}


class CheckedRecords(dict):
    """Tables that passed the schema and the plausibility rules (what :func:`load_records` returns).

    ``dropped`` is ``None`` when implausible records are refused; with ``drop_implausible`` it holds
    the count of dropped persons, in all and per rule (:func:`dropped_counts`)."""

    dropped: dict[str, int] | None = None


def dropped_counts(tables: Mapping[str, Any]) -> dict[str, int]:
    """The dropped-persons counts the recipes add to their ``counts``: ``dropped_implausible_persons``
    and ``dropped_<table>_<rule>`` per rule broken; empty unless the records were loaded to drop them."""
    dropped = getattr(tables, "dropped", None)
    return {} if dropped is None else dict(dropped)


def _dates(frame: pd.DataFrame, table: str, column: str, field: str, value: Any) -> np.ndarray:
    if column not in frame:
        raise InputError.field(field, f"{table}: missing column {column!r}", value)
    series = frame[column]
    if not pd.api.types.is_datetime64_any_dtype(series):
        raise InputError.field(field, f"{table}.{column}: type {series.dtype}, expected dates (datetime64)", value)
    if series.isna().any():
        raise InputError.field(field, f"{table}.{column}: {int(series.isna().sum())} missing values (not allowed)",
                               value)
    return series.to_numpy()


def _person_ids(frame: pd.DataFrame, table: str, field: str, value: Any) -> np.ndarray:
    if "person_id" not in frame:
        raise InputError.field(field, f"{table}: missing column 'person_id'", value)
    if not pd.api.types.is_integer_dtype(frame["person_id"]):
        raise InputError.field(field, f"{table}.person_id: type {frame['person_id'].dtype}, expected int64", value)
    return frame["person_id"].to_numpy()


def _violations(tables: Mapping[str, pd.DataFrame], field: str, value: Any) -> list[tuple[Rule, np.ndarray]]:
    """Each rule broken, with the rows (a boolean mask over its table) that break it."""
    found = []

    def rule(table: str, name: str, rows: np.ndarray) -> None:
        if rows.any():
            found.append((_RULE[table, name], rows))

    if "patients" not in tables:  # every rule places a record in a person's life
        return found
    p = tables["patients"]
    ids = pd.Index(_person_ids(p, "patients", field, value))
    if not ids.is_unique:
        raise InputError.field(field, f"patients.person_id: repeated values {ids[ids.duplicated()][:_SHOWN].tolist()} "
                                      "(patients has one row per person)", value)
    if "exit_reason" not in p:
        raise InputError.field(field, "patients: missing column 'exit_reason'", value)
    birth, diagnosis, entry, exit_ = (_dates(p, "patients", c, field, value)
                                      for c in ("birth_date", "diagnosis_date", "entry_date", "exit_date"))
    died = p["exit_reason"].eq("death").fillna(False).to_numpy(dtype=bool)
    rule("patients", "born_before_1880", birth < np.datetime64(EARLIEST_BIRTH))
    rule("patients", "birth_after_diagnosis", birth > diagnosis)
    rule("patients", "diagnosis_after_entry", diagnosis > entry)
    rule("patients", "exit_before_entry", exit_ < entry)
    age_days = (exit_ - birth) / np.timedelta64(1, "D")
    rule("patients", "too_old", age_days >= MAX_AGE_YEARS * 365.25)
    if "deaths" in tables:
        recorded = ids.isin(_person_ids(tables["deaths"], "deaths", field, value))
        rule("patients", "death_not_recorded", died & ~recorded)
    for table in (*_EVENTS, "deaths"):
        if table not in tables:
            continue
        frame = tables[table]
        at = ids.get_indexer(_person_ids(frame, table, field, value))
        known = at >= 0
        at = np.where(known, at, 0)
        date = _dates(frame, table, "date", field, value)
        rule(table, "unknown_person", ~known)
        if table == "deaths":
            rule(table, "exit_reason_not_death", known & ~died[at])
            rule(table, "not_on_exit_date", known & died[at] & (date != exit_[at]))
            continue
        if table == "metastases":
            rule(table, "before_diagnosis", known & (date < diagnosis[at]))
        else:
            rule(table, "before_birth", known & (date < birth[at]))
        after = known & (date > exit_[at])
        rule(table, "after_death", after & died[at])
        rule(table, "after_exit", after & ~died[at])
    order = {r: i for i, r in enumerate(RULES)}
    return sorted(found, key=lambda item: order[item[0]])


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _describe(rule: Rule, frame: pd.DataFrame, rows: np.ndarray) -> str:
    where = np.flatnonzero(rows)
    persons = pd.unique(frame["person_id"].to_numpy()[where])
    shown = ", ".join(f"{frame['person_id'].iat[i]} (row {i + 1})" for i in where[:_SHOWN])
    more = f" and {len(where) - _SHOWN:,} more" if len(where) > _SHOWN else ""
    return (f"{rule.table}: rule {rule.name!r} ({rule.holds}) broken by {_count(len(where), 'row')} of "
            f"{_count(len(persons), 'person')}: person_id {shown}{more}")


def check_records(tables: Mapping[str, pd.DataFrame], drop_implausible: bool = False, field: str = "records",
                  value: Any = None) -> CheckedRecords:
    """``tables`` (DataFrames with ``datetime64`` dates, as :func:`load_records` makes them) checked
    against :data:`RULES`. A broken rule is refused with an :class:`InputError` on ``field`` naming
    the table, the rule, how many rows and persons and the first few of them (rows count from 1, in
    the order read); with ``drop_implausible`` those persons are left out of every table instead and
    counted (:attr:`CheckedRecords.dropped`)."""
    shown = MISSING if value is None else value
    found = _violations(tables, field, shown)
    checked = CheckedRecords(tables)
    if not drop_implausible:
        if found:
            lines = "".join(f"\n  {_describe(rule, tables[rule.table], rows)}" for rule, rows in found)
            raise InputError.field(field, f"records that cannot be true:{lines}\ncorrect these records", shown,
                                   remedy="drop_implausible")
        return checked
    bad: set[int] = set()
    dropped = {}
    for rule, rows in found:
        persons = set(pd.unique(tables[rule.table]["person_id"].to_numpy()[rows]).tolist())
        dropped[f"dropped_{rule.key}"] = len(persons)
        bad |= persons
    checked.dropped = {"dropped_implausible_persons": len(bad), **dropped}
    if bad:
        for name, frame in tables.items():
            checked[name] = frame[~frame["person_id"].isin(bad)].reset_index(drop=True)
    return checked


def load_records(location: str | Path, tables: tuple[str, ...] = REQUIRED_TABLES, field: str = "cohort",
                 drop_implausible: bool = False) -> CheckedRecords:
    """The checked tables of ``location`` as DataFrames with ``datetime64`` dates.

    Each table is checked against the schema, then all of them against the plausibility
    :data:`RULES` (:func:`check_records`): records that cannot be true are refused, or with
    ``drop_implausible`` the persons they belong to are left out of every table and counted."""
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
        # the checked Arrow types alone decide the pandas types: a file's pandas metadata may say
        # otherwise (an int64 person_id described as a string would become text and fail a merge later)
        frame = table.replace_schema_metadata(None).to_pandas()
        for column in SCHEMAS[name]:
            if pa.types.is_date32(column.type) and column.name in frame:
                frame[column.name] = pd.to_datetime(frame[column.name])
        out[name] = frame
    return check_records(out, drop_implausible=drop_implausible, field=field, value=root)


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
