"""Records that cannot be true, odd but valid records, and CSV dates (issue 17): a record that cannot
be true is refused by table, rule and person (or its person dropped and counted on request); valid
but unusual records give a clear InputError or a "not estimable" result, never a traceback."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from awaken.api.analyses import analyze_flatiron, analyze_ukb
from awaken.cli import app
from awaken.cohort.parameters import CohortScenario
from awaken.cohort.run import simulate_records
from awaken.errors import InputError
from awaken.records import RULES, TABLES, CheckedRecords, check_records, load_records
from awaken.studies.flatiron import flatiron_analysis
from awaken.studies.ukb import ukb_analysis

DAY = pd.Timedelta(days=1)
runner = CliRunner()
Tables = dict[str, pd.DataFrame]


@pytest.fixture(scope="module")
def records() -> Tables:
    """3,000 default survivors, all six tables, in memory (as load_records makes them)."""
    return simulate_records(CohortScenario(), n=3_000, seed=1, tables=TABLES)


def one_line(text: str) -> str:
    return " ".join(text.split())


def write_csv(tables: Tables, directory) -> None:
    directory.mkdir()
    for name, frame in tables.items():
        frame.drop(columns=[c for c in frame.columns if c.startswith("latent_")]).to_csv(directory / f"{name}.csv",
                                                                                        index=False)


# ---------------------------------------------------------------- one record made implausible per rule
def _person(t: Tables, dead: bool, metastatic: bool | None = False) -> pd.Series:
    """A patient who died (or is alive at exit), without (or with) a metastasis."""
    p = t["patients"]
    rows = p[(p.exit_reason == "death") == dead]
    if metastatic is not None:
        rows = rows[rows.person_id.isin(t["metastases"].person_id) == metastatic]
    return rows.iloc[0]


def _add(t: Tables, table: str, person: int, date: pd.Timestamp) -> int:
    """A copy of the table's first row for ``person`` on ``date``."""
    row = t[table].iloc[[0]].assign(person_id=person, date=date).astype(t[table].dtypes.to_dict())
    t[table] = pd.concat([t[table], row], ignore_index=True)
    return person


def _set(t: Tables, person: int, **values) -> int:
    p = t["patients"] = t["patients"].copy()
    for column, value in values.items():
        p.loc[p.person_id == person, column] = value
    return person


def _patient_rule(name: str) -> Callable[[Tables], int]:
    def corrupt(t: Tables) -> int:
        alive = _person(t, dead=False)
        dead = _person(t, dead=True, metastatic=None)
        if name == "born_before_1880":
            return _set(t, alive.person_id, birth_date=pd.Timestamp("1500-01-01"))
        if name == "birth_after_diagnosis":
            return _set(t, alive.person_id, birth_date=alive.diagnosis_date + DAY)
        if name == "diagnosis_after_entry":
            return _set(t, alive.person_id, diagnosis_date=alive.entry_date + DAY)
        if name == "exit_before_entry":
            return _set(t, alive.person_id, exit_date=alive.entry_date - DAY)
        if name == "too_old":  # 125 years at exit, born after 1880
            return _set(t, alive.person_id, birth_date=alive.exit_date - pd.Timedelta(days=round(125 * 365.25)))
        assert name == "death_not_recorded"
        t["deaths"] = t["deaths"][t["deaths"].person_id != dead.person_id]
        return dead.person_id
    return corrupt


def _event_rule(table: str, name: str) -> Callable[[Tables], int]:
    def corrupt(t: Tables) -> int:
        alive, dead = _person(t, dead=False), _person(t, dead=True)  # neither has a metastasis yet
        if name == "unknown_person":
            return _add(t, table, int(t["patients"].person_id.max()) + 1000, alive.exit_date)
        if name == "before_birth":
            return _add(t, table, alive.person_id, alive.birth_date - DAY)
        if name == "before_diagnosis":
            return _add(t, table, alive.person_id, alive.diagnosis_date - DAY)
        if name == "after_death":  # e.g. a metastasis dated after death (moved the UK Biobank OR 1.68 -> 1.28)
            return _add(t, table, dead.person_id, dead.exit_date + 5 * DAY)
        assert name == "after_exit"
        return _add(t, table, alive.person_id, alive.exit_date + DAY)
    return corrupt


def _death_rule(name: str) -> Callable[[Tables], int]:
    def corrupt(t: Tables) -> int:
        if name == "unknown_person":
            return _add(t, "deaths", int(t["patients"].person_id.max()) + 1000, pd.Timestamp("2021-01-01"))
        if name == "exit_reason_not_death":
            alive = _person(t, dead=False)
            return _add(t, "deaths", alive.person_id, alive.exit_date)
        assert name == "not_on_exit_date"
        dead = _person(t, dead=True, metastatic=None)
        d = t["deaths"] = t["deaths"].copy()
        d.loc[d.person_id == dead.person_id, "date"] = dead.exit_date - 3 * DAY
        return dead.person_id
    return corrupt


CASES = {(r.table, r.name): (_patient_rule(r.name) if r.table == "patients" else _death_rule(r.name)
                             if r.table == "deaths" else _event_rule(r.table, r.name)) for r in RULES}


def test_every_rule_has_a_case_and_is_documented():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "data.md").read_text()
    assert set(CASES) == {(r.table, r.name) for r in RULES}
    assert not [r.name for r in RULES if f"`{r.name}`" not in text]


@pytest.mark.parametrize("table, rule", list(CASES), ids=[f"{t}.{r}" for t, r in CASES])
def test_a_record_that_cannot_be_true_is_refused_by_rule_and_person_or_dropped(records, table, rule):
    bad = dict(records)
    person = CASES[table, rule](bad)
    with pytest.raises(InputError) as caught:
        check_records(bad, value="extract")
    message = one_line(str(caught.value))
    assert caught.value.problems[0].field == "records"
    assert f"{table}: rule '{rule}'" in message, message
    assert f"person_id {person} (row" in message or f", {person} (row" in message, message
    assert "drop_implausible=True" in message
    checked = check_records(bad, drop_implausible=True)
    assert checked.dropped[f"dropped_{table}_{rule}"] == 1, checked.dropped
    assert checked.dropped["dropped_implausible_persons"] >= 1
    for name, frame in checked.items():
        assert person not in set(frame.person_id), name
    assert not check_records(checked).dropped  # what is left passes


def test_the_refusal_says_how_many_and_shows_the_first_few(records):
    bad = dict(records, metastases=records["metastases"].copy())
    m, p = bad["metastases"], bad["patients"].set_index("person_id")
    m["date"] = m.person_id.map(p.exit_date) + DAY  # every metastasis after the end of follow-up
    with pytest.raises(InputError) as caught:
        check_records(bad)
    message = one_line(str(caught.value))
    dead = p.exit_reason.loc[m.person_id].eq("death").sum()
    assert f"metastases: rule 'after_death' (date on or before the death, patients.exit_date: nothing is recorded " \
           f"after death) broken by {dead:,} rows of {dead:,} persons" in message
    assert f"and {dead - 5:,} more" in message


def test_the_simulated_cohort_passes_every_rule():
    """100,000 default survivors (the flagship's size), all six tables."""
    tables = simulate_records(CohortScenario(), n=100_000, seed=0, tables=TABLES)
    checked = check_records(tables, drop_implausible=True)
    assert checked.dropped == {"dropped_implausible_persons": 0}
    assert all(len(checked[name]) == len(tables[name]) for name in TABLES)


# ---------------------------------------------------------------- the drop option end to end
@pytest.mark.filterwarnings("ignore:the partial likelihood keeps rising")
def test_the_command_line_refuses_or_drops_and_counts(records, tmp_path):
    bad = dict(records)
    person = CASES["metastases", "after_death"](bad)
    write_csv({k: bad[k] for k in ("patients", "tests", "metastases", "deaths")}, tmp_path / "extract")
    refused = runner.invoke(app, ["analyze", "ukb", "--cohort", str(tmp_path / "extract")])
    assert refused.exit_code == 2, refused.output
    text = one_line(refused.output)
    assert "metastases: rule 'after_death'" in text and f"person_id {person}" in text
    assert "or pass --drop-implausible" in text
    dropped = runner.invoke(app, ["analyze", "ukb", "--cohort", str(tmp_path / "extract"), "--drop-implausible",
                                  "--format", "json"])
    assert dropped.exit_code == 0, dropped.output
    counts = json.loads(dropped.stdout)["counts"]
    assert counts["dropped_implausible_persons"] == 1 and counts["dropped_metastases_after_death"] == 1
    table = runner.invoke(app, ["analyze", "flatiron", "--cohort", str(tmp_path / "extract"), "--drop-implausible"])
    assert table.exit_code == 0 and "dropped metastases after death" in table.output
    # the Python API: the same from a directory and from tables in memory
    assert analyze_ukb(bad, drop_implausible=True).counts == counts
    with pytest.raises(InputError, match="records: records that cannot be true"):
        analyze_flatiron(bad)


def test_without_the_option_the_counts_are_as_before(records):
    clean = ukb_analysis(records)
    assert not any(key.startswith("dropped") for key in clean.counts)
    assert analyze_ukb(records).counts == clean.counts


# ---------------------------------------------------------------- CSV dates and Parquet types
@pytest.mark.parametrize("value", ["01/03/2020", "2020-3-1", "2020-03-01 00:00:00", "20200301", "2020-02-30"])
def test_csv_dates_are_iso_only_and_a_bad_one_is_named(records, tmp_path, value):
    write_csv({k: records[k] for k in ("patients", "tests", "metastases", "deaths")}, tmp_path / "extract")
    path = tmp_path / "extract" / "deaths.csv"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(lines[3].split(",")[1], value)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as caught:
        load_records(tmp_path / "extract")
    rows = len(records["deaths"])
    assert (f"deaths.csv, column date: 1 of {rows:,} values are not dates in the one documented format YYYY-MM-DD "
            f"(ISO 8601), the first {value!r} on line 4") in str(caught.value)
    result = runner.invoke(app, ["analyze", "flatiron", "--cohort", str(tmp_path / "extract")])
    assert result.exit_code == 2 and "line 4" in result.output


def test_a_csv_value_of_the_wrong_kind_is_named_by_column_and_line(records, tmp_path):
    write_csv({k: records[k] for k in ("patients", "tests", "metastases", "deaths")}, tmp_path / "extract")
    path = tmp_path / "extract" / "tests.csv"
    lines = path.read_text().splitlines()
    lines[2] = "P-17" + lines[2][lines[2].index(","):]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="tests.csv, column person_id: 'P-17' on line 3 is not of type int64"):
        load_records(tmp_path / "extract")


def _parquet_dir(records: Tables, directory, change: Callable[[str, pa.Table], pa.Table]):
    directory.mkdir()
    for name in ("patients", "tests", "metastases", "deaths"):
        frame = records[name].drop(columns=[c for c in records[name].columns if c.startswith("latent_")])
        table = pa.Table.from_pandas(frame, preserve_index=False)
        for i, field in enumerate(table.schema):
            if pa.types.is_timestamp(field.type):
                table = table.set_column(i, field.name, table.column(i).cast(pa.date32()))
        pq.write_table(change(name, table), directory / f"{name}.parquet")
    return directory


def test_parquet_pandas_metadata_does_not_override_the_checked_types(records, tmp_path):
    """pandas metadata saying a person_id of int64 is a string used to turn it into text (a failed merge)."""
    def says_string(name: str, table: pa.Table) -> pa.Table:
        meta = json.loads(table.schema.metadata[b"pandas"])
        for column in meta["columns"]:
            if column["name"] == "person_id":
                column.update(pandas_type="unicode", numpy_type="str")
        return table.replace_schema_metadata({b"pandas": json.dumps(meta).encode()})

    loaded = load_records(_parquet_dir(records, tmp_path / "meta", says_string))
    assert all(pd.api.types.is_integer_dtype(frame.person_id) for frame in loaded.values())
    assert ukb_analysis(loaded).counts == ukb_analysis(records).counts


def test_parquet_columns_of_the_wrong_physical_type_are_refused_by_name(records, tmp_path):
    def as_text(name: str, table: pa.Table) -> pa.Table:
        i = table.schema.get_field_index("person_id")
        return table.set_column(i, "person_id", table.column(i).cast(pa.string())) if name == "tests" else table

    with pytest.raises(InputError, match="tests.person_id: type string, expected int64"):
        load_records(_parquet_dir(records, tmp_path / "text", as_text))

    def as_timestamp(name: str, table: pa.Table) -> pa.Table:  # what pandas writes for datetime64 dates
        if name != "deaths":
            return table
        i = table.schema.get_field_index("date")
        return table.set_column(i, "date", table.column(i).cast(pa.timestamp("ms")))

    with pytest.raises(InputError, match=r"deaths.date: type timestamp\[ms\], expected date32"):
        load_records(_parquet_dir(records, tmp_path / "stamp", as_timestamp))


def test_a_missing_date_is_refused(records, tmp_path):
    write_csv({k: records[k] for k in ("patients", "tests", "metastases", "deaths")}, tmp_path / "extract")
    path = tmp_path / "extract" / "patients.csv"
    frame = pd.read_csv(path)
    frame.loc[5, "entry_date"] = None
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"patients.entry_date: 1 missing values \(not allowed\)"):
        load_records(tmp_path / "extract")


# ---------------------------------------------------------------- valid but unusual records
def _tables(records: Tables, **changes) -> Tables:
    return {**{k: records[k] for k in ("patients", "tests", "metastases", "deaths")}, **changes}


def _quiet(recipe, tables):
    import warnings

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return recipe(tables)


def _zero_follow_up(records: Tables) -> Tables:
    """Everyone leaves on the day they enter (alive, nothing recorded): plausible, nothing to analyse."""
    p = records["patients"].assign(exit_date=records["patients"].entry_date, exit_reason="end_of_follow_up")
    return {"patients": p, **{k: records[k].iloc[:0] for k in ("tests", "metastases", "deaths")}}


def _one_patient(records: Tables) -> Tables:
    """One-row tables: a breast cancer survivor tested (negative) in the first pandemic year, alone."""
    from awaken.studies.ukb import UKBSettings, ukb_cohort

    tested = ukb_cohort(records, UKBSettings())
    person = tested[(tested.positive == 0) & (tested.cancer_type == "breast")].person_id.iloc[:1]
    return {k: records[k][records[k].person_id.isin(person)] for k in ("patients", "tests", "metastases", "deaths")}


REFUSED = {  # (case, design): what the message names
    ("empty tests", "ukb"): "no SARS-CoV-2 test (tests.pathogen sars_cov_2) from 2020-03-01 to 2021-03-01",
    ("zero follow-up", "ukb"): "nobody among the 3,000 persons was diagnosed by 2015-03-02, followed on 2020-03-01",
    ("zero follow-up", "flatiron"): "is followed after 2020-03-01 (exit_date after it and after entry_date)",
    ("no breast cancer", "flatiron"): "no breast cancer patient (patients.cancer_type breast) among the 3,000",
}
NOT_ESTIMABLE = {  # (case, design): the note
    ("empty tests", "flatiron"): "no breast cancer patient has a recorded COVID-19 diagnosis",
    ("all negative", "ukb"): "no tested survivor tested positive for SARS-CoV-2 from 2020-03-01 to 2021-03-01: the "
                             "odds ratios and hazard ratios are not estimable",
    ("all negative", "flatiron"): "the hazard ratios and the cumulative incidence are not estimable",
    ("all positive", "ukb"): "every tested survivor tested positive",
    ("no cancer death", "ukb"): "no tested survivor died of cancer by 2022-12-31",
    ("no lung metastasis", "flatiron"): "no breast cancer patient had a first distant metastasis in the lung",
    ("one patient", "ukb"): "no tested survivor tested positive",
    ("one patient", "flatiron"): "no breast cancer patient has a recorded COVID-19 diagnosis",
}
CHANGES: dict[str, Callable[[Tables], Tables]] = {
    "empty tests": lambda r: _tables(r, tests=r["tests"].iloc[:0]),
    "zero follow-up": _zero_follow_up,
    "no breast cancer": lambda r: _tables(r, patients=r["patients"].assign(cancer_type="other", subtype=None,
                                                                          er_status=None, her2_status=None,
                                                                          nodes=None)),
    "one patient": _one_patient,
    "all negative": lambda r: _tables(r, tests=r["tests"].assign(result="negative")),
    "all positive": lambda r: _tables(r, tests=r["tests"].assign(result="positive")),
    "no cancer death": lambda r: _tables(r, deaths=r["deaths"].assign(cause="other")),
    "no lung metastasis": lambda r: _tables(r, metastases=r["metastases"].assign(site="other")),
}
RECIPES = {"ukb": ukb_analysis, "flatiron": flatiron_analysis}


@pytest.mark.parametrize("case, design", list(REFUSED), ids=[f"{c}-{d}" for c, d in REFUSED])
def test_records_without_anyone_the_design_selects_are_refused_by_what_is_missing(records, case, design):
    tables = check_records(CHANGES[case](records))  # plausible, only unusual
    with pytest.raises(InputError) as caught:
        _quiet(RECIPES[design], tables)
    assert caught.value.problems[0].field == "cohort"
    assert REFUSED[case, design] in str(caught.value)


@pytest.mark.parametrize("case, design", list(NOT_ESTIMABLE), ids=[f"{c}-{d}" for c, d in NOT_ESTIMABLE])
def test_what_the_records_cannot_estimate_is_nan_with_a_note(records, case, design):
    result = _quiet(RECIPES[design], check_records(CHANGES[case](records)))
    assert any(NOT_ESTIMABLE[case, design] in note for note in result.notes), result.notes
    ratios = result.odds_ratios["OR"] if design == "ukb" else result.hazard_ratios["HR"]
    assert ratios.isna().all()
    assert json.dumps(result.to_dict(), default=str, allow_nan=True)  # serialisable; the CLI turns NaN to null


def test_constant_covariates_are_left_out_with_a_note(records):
    result = _quiet(ukb_analysis, check_records(_tables(records, patients=records["patients"].assign(sex="female"))))
    assert math.isfinite(result.odds_ratio)
    assert "adjusted odds ratio: male is the same for every tested survivor, left out of the model" in result.notes
    flatiron = _quiet(flatiron_analysis, check_records(_tables(records, patients=records["patients"].assign(
        stage="III"))))
    assert math.isfinite(flatiron.hazard_ratio)
    assert any("no information on stage_number" in note for note in flatiron.notes)


def test_a_breast_patient_without_a_subtype_is_matched_within_the_unknown(records):
    p = records["patients"].copy()
    p.loc[p.cancer_type == "breast", "subtype"] = None
    result = _quiet(flatiron_analysis, _tables(records, patients=p))
    assert result.counts["matched_pairs"] > 0


@pytest.mark.parametrize("case", ["all negative", "empty tests", "one patient"])
def test_the_command_line_prints_unusual_records_cleanly(records, tmp_path, case):
    write_csv(CHANGES[case](records), tmp_path / "extract")
    for design in ("ukb", "flatiron"):
        expected = 2 if (case, design) in REFUSED else 0
        shown = runner.invoke(app, ["analyze", design, "--cohort", str(tmp_path / "extract")])
        assert shown.exit_code == expected, shown.output
        assert shown.exception is None or isinstance(shown.exception, SystemExit), shown.exception
        if expected == 0:
            assert "not estimable" in shown.output and "note: " in shown.output
            parsed = json.loads(runner.invoke(app, ["analyze", design, "--cohort", str(tmp_path / "extract"),
                                                    "--format", "json"]).stdout)
            assert parsed["notes"] and None in [row["HR"] for row in parsed["hazard_ratios"]]
            kept = runner.invoke(app, ["analyze", design, "--cohort", str(tmp_path / "extract"), "--out",
                                       str(tmp_path / design)])
            assert kept.exit_code == 0, kept.output
            assert json.loads((tmp_path / design / "analysis.json").read_text())["notes"] == parsed["notes"]
        else:
            assert "error: --cohort: no" in one_line(shown.output)


def test_a_result_is_still_a_checked_records_mapping(records):
    assert isinstance(check_records(records), CheckedRecords)
