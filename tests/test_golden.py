"""Numerical regression baseline: what awaken computes stays bit-identical unless a change means it to.

Every output a user keeps - the flagship's Parquet tables and scorecard, the cohort tables, the
analyses' JSON, a virtual population, a power curve and the exported standards - is reduced to one
SHA-256 digest per table column (or JSON value) and compared with ``tests/golden/digests.json``.
The digests were taken before the house was rebuilt (issue 13) and hold it to "the science does not
move". A change that is meant to move a number updates the baseline on purpose, as Starsim's tests
do, and says so in its commit::

    AWAKEN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py

A mismatch names the case, the file and the columns that differ.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

GOLDEN = Path(__file__).resolve().parent / "golden" / "digests.json"
UPDATE = os.environ.get("AWAKEN_UPDATE_GOLDEN") == "1"


# ---------------------------------------------------------------- digests
def _column_digest(column: pa.ChunkedArray) -> str:
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    h = hashlib.sha256(str(array.type).encode())
    h.update(np.asarray(array.is_null()).tobytes())
    kind = array.type
    if pa.types.is_boolean(kind):
        h.update(np.ascontiguousarray(array.fill_null(False).to_numpy(zero_copy_only=False)).tobytes())
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        h.update(np.ascontiguousarray(array.fill_null(0).to_numpy(zero_copy_only=False)).tobytes())
    elif pa.types.is_date32(kind):
        h.update(np.ascontiguousarray(array.view(pa.int32()).fill_null(0).to_numpy()).tobytes())
    elif pa.types.is_temporal(kind):
        h.update(np.ascontiguousarray(array.view(pa.int64()).fill_null(0).to_numpy()).tobytes())
    else:
        h.update("\x1f".join("\x00" if v is None else str(v) for v in array.to_pylist()).encode())
    return h.hexdigest()


def table_digest(table: pa.Table) -> dict[str, object]:
    """Row count and one digest per column (content only: schema metadata and chunking do not count)."""
    return {"rows": table.num_rows, **{name: _column_digest(table.column(name)) for name in table.column_names}}


def parquet_digest(path: Path) -> dict[str, object]:
    """A Parquet file, or a directory of Parquet files read as one table in file-name order."""
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    return table_digest(pa.concat_tables([pq.read_table(f) for f in files]))


def json_digest(value: object) -> dict[str, str]:
    """One digest per top-level key (the whole value under ``""`` when it is not a mapping)."""
    def one(v: object) -> str:
        return hashlib.sha256(json.dumps(v, sort_keys=True, allow_nan=True).encode()).hexdigest()

    return {k: one(v) for k, v in value.items()} if isinstance(value, dict) else {"": one(value)}


def text_digest(text: str | bytes) -> dict[str, str]:
    data = text.encode() if isinstance(text, str) else text
    return {"": hashlib.sha256(data).hexdigest()}


def _compare(case: str, digests: dict[str, dict]) -> None:
    stored = json.loads(GOLDEN.read_text()) if GOLDEN.is_file() else {}
    if UPDATE:
        stored[case] = digests
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
        return
    assert case in stored, f"no baseline for {case}: run AWAKEN_UPDATE_GOLDEN=1 pytest tests/test_golden.py"
    expected = stored[case]
    problems = []
    for name in sorted(set(expected) | set(digests)):
        if name not in digests:
            problems.append(f"{name}: no longer written")
        elif name not in expected:
            problems.append(f"{name}: new output without a baseline")
        elif digests[name] != expected[name]:
            a, b = expected[name], digests[name]
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            problems.append(f"{name}: differs in {', '.join(map(str, keys))}")
    assert not problems, f"{case} moved from its baseline:\n  " + "\n  ".join(problems)


# ---------------------------------------------------------------- cases
def test_the_flagship_run_is_unchanged(small_reproduction):
    """`reproduce` (2 mice, 40 days, seed 1, 20,000 survivors): tables, scorecard, ensemble, cohort, analyses."""
    out = small_reproduction.path
    digests = {f"tables/{t}.parquet": parquet_digest(out / "tables" / f"{t}.parquet")
               for t in ("timecourse", "per_mouse", "parameters")}
    for name in ("scorecard.json", "ensemble_scores.json", "cohort/analyses.json"):
        digests[name] = json_digest(json.loads((out / name).read_text()))
    for arm in ("pandemic", "no_pandemic"):
        for table in sorted(p.name for p in (out / "cohort" / arm).iterdir() if p.is_dir() and not p.name.startswith("_")):
            digests[f"cohort/{arm}/{table}"] = parquet_digest(out / "cohort" / arm / table)
    _compare("reproduce", digests)


def test_a_cohort_and_its_analyses_are_unchanged(tmp_path):
    """`awaken cohort` on the Flatiron example scenario (5,000 survivors, 2 blocks), then `awaken analyze`."""
    from typer.testing import CliRunner

    from awaken.cli import app

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "cohort"
    runner = CliRunner()
    result = runner.invoke(app, ["cohort", "--n", "5000", "--seed", "4", "--block-size", "2500", "--workers", "1",
                                 "--scenario", str(root / "examples" / "cohort" / "flatiron_breast_us.yaml"),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    digests = {table: parquet_digest(out / table)
               for table in ("patients", "infections", "tests", "vaccinations", "metastases", "deaths")}
    for design in ("ukb", "flatiron"):
        result = runner.invoke(app, ["analyze", design, "--cohort", str(out), "--format", "json"])
        assert result.exit_code == 0, result.output
        digests[f"analyze {design}"] = json_digest(json.loads(result.stdout))
    _compare("cohort", digests)


def test_a_virtual_population_is_unchanged(tmp_path):
    """`awaken population` (influenza, 40 individuals screened by the envelope)."""
    from typer.testing import CliRunner

    from awaken.cli import app

    out = tmp_path / "pop"
    result = CliRunner().invoke(app, ["population", "--experiment", "influenza", "--n", "40", "--seed", "2",
                                      "--output-days", "0,3,9,15,28", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "population.json").read_text())
    _compare("population", {"readouts.parquet": parquet_digest(out / "readouts.parquet"),
                            "parameters.parquet": parquet_digest(out / "parameters.parquet"),
                            "population.json": json_digest(summary)})


def test_a_power_curve_is_unchanged():
    """The Flatiron design's power at two effects, 2,000 people, 3 replicates each (inline)."""
    from awaken.studies.power import PowerSettings, power_curve

    result = power_curve(PowerSettings(n=2000, strengths=(0.0, 0.008), replicates=3, seed=5))
    _compare("power", {"replicates": table_digest(pa.Table.from_pandas(result.replicates, preserve_index=False)),
                       "curve": table_digest(pa.Table.from_pandas(result.curve, preserve_index=False)),
                       "summary": json_digest(result.to_dict())})


def test_the_exported_standards_are_unchanged(tmp_path):
    """SBML of one experiment (both forms), the PEtab problem's tables, a COMBINE archive's contents."""
    from typer.testing import CliRunner

    from awaken.cli import app

    runner = CliRunner()
    digests = {}
    for flag in ("--no-preequilibration", "--preequilibration"):
        target = tmp_path / f"lung{flag}.xml"
        result = runner.invoke(app, ["export", "sbml", str(target), "--experiment", "anti_cd4_influenza", flag])
        assert result.exit_code == 0, result.output
        digests[f"sbml {flag}"] = text_digest(target.read_bytes())
    result = runner.invoke(app, ["export", "petab", str(tmp_path / "petab")])
    assert result.exit_code == 0, result.output
    for path in sorted(p for p in (tmp_path / "petab").iterdir() if p.name != "run.json"):  # provenance: times
        digests[f"petab/{path.name}"] = text_digest(path.read_bytes())
    result = runner.invoke(app, ["export", "omex", str(tmp_path / "omex"), "--experiment", "influenza", "--days", "30"])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(io.BytesIO((tmp_path / "omex" / "influenza.omex").read_bytes())) as archive:
        for name in ("model.xml", "simulation.sedml", "scenario.yaml"):
            digests[f"omex/{name}"] = text_digest(archive.read(name))
    _compare("exports", digests)
