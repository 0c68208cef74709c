"""The EHR-shaped tables a cohort run writes: one schema, defined once.

``docs/data.md`` documents these tables column by column (a test keeps the two in step), the
analysis layer (:mod:`awaken.survival.design`, ``awaken analyze``) reads exactly them, and a user's
own registry or EHR extract in the same shape can take their place. Columns whose name starts
with ``latent_`` are the simulation's truth (never in a real record); drop them to get what an
analyst would see.

Example
-------
>>> from awaken.cohort.records import SCHEMAS
>>> sorted(SCHEMAS)
['deaths', 'infections', 'metastases', 'patients', 'tests', 'vaccinations']
>>> SCHEMAS["deaths"].names
['person_id', 'date', 'cause']
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["SCHEMAS", "TABLES", "CATEGORIES", "ONE_ROW_PER_PERSON", "validate_table", "SchemaError"]

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
