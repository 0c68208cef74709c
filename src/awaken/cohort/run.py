"""Running a cohort at scale: blocks of people on Dask, streamed to Parquet, resumable.

People ``0 .. n-1`` are cut into blocks of ``block_size``. Each block is simulated by one task
(:func:`awaken.cohort.simulate.simulate_block`) that writes its six tables to
``OUT/<table>/block-<b>.parquet`` - each file under a temporary name, renamed when complete - and
then a marker ``OUT/_blocks/block-<b>.json`` with its row counts. The directory is a resumable run
of the runs layer (:class:`awaken.runs.directory.RunDirectory`): a block is done exactly when its
marker exists; a re-run with the same settings skips done blocks and redoes the others, so a killed
run finishes without losing or duplicating anyone. ``OUT/run.json`` records the settings (and
refuses a re-run with different ones) and says ``"complete": true`` only when every block is done.

Tasks run (:class:`awaken.runs.execution.Execution`) on a Dask ``LocalCluster`` of ``workers``
processes by default, or on an existing cluster given by ``scheduler`` (its workers must see
``OUT``: a shared file system). Memory stays bounded:
a worker holds one block at a time and the client only row counts. Draws are keyed by person id
(:mod:`awaken.cohort.draws`), so the tables are identical whatever the number of workers or blocks.

Example
-------
>>> import tempfile, pathlib
>>> from awaken.cohort.run import run_cohort
>>> from awaken.records import read_cohort
>>> from awaken.cohort.parameters import DEFAULT_BLOCK_SIZE, MAX_PEOPLE, CohortScenario, CohortSettings
>>> with tempfile.TemporaryDirectory() as tmp:
...     run = run_cohort(CohortScenario(), n=300, seed=1, out=pathlib.Path(tmp) / "c", block_size=100,
...                      executor="inline")
...     len(read_cohort(run.out)["patients"])
300
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from awaken.cohort.parameters import (
    DEFAULT_BLOCK_SIZE,
    MAX_PEOPLE,
    CohortScenario,
    CohortSettings,
)
from awaken.cohort.simulate import simulate_block
from awaken.records import REQUIRED_TABLES, TABLES
from awaken.runs.directory import RunDirectory, mark_done
from awaken.runs.execution import Execution
from awaken.runs.files import temporary_sibling
from awaken.schemas import validate

__all__ = ["CohortRun", "run_cohort", "check_cohort", "simulate_records", "records_from_tables", "MAX_PEOPLE",
           "DEFAULT_BLOCK_SIZE"]



@dataclass(frozen=True)
class CohortRun:
    out: Path
    n: int
    seed: int
    blocks: int
    skipped_blocks: int
    rows: dict[str, int]
    seconds: float


def check_cohort(n: int, seed: int, block_size: int) -> CohortSettings:
    """Check a cohort's size, seed and block size (before any work)."""
    return validate({"n": n, "seed": seed, "block_size": block_size}, CohortSettings)


def _settings(scenario: CohortScenario, n: int, seed: int, block_size: int) -> dict[str, Any]:
    """What a resumed run must share with the run it continues."""
    from awaken.runs.provenance import version

    return {"scenario_sha256": scenario.sha256(), "n": n, "seed": seed, "block_size": block_size,
            "awaken_version": version(), "lungs": "every infection in its survivor's lung (awaken.cohort.lungs)"}


def _block_task(scenario_json: str, seed: int, block: int, first: int, last: int, out: str) -> dict[str, int]:
    """Simulate and write one block (runs on a worker)."""
    scenario = CohortScenario.model_validate_json(scenario_json)
    tables = simulate_block(scenario, seed, first, last)
    root = Path(out)
    name = f"block-{block:06d}.parquet"
    for table_name, table in tables.items():
        target = root / table_name / name
        tmp = temporary_sibling(target)
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, target)
    rows = {k: t.num_rows for k, t in tables.items()}
    mark_done(root, f"block-{block:06d}", {"first": first, "last": last, "rows": rows})
    return rows


def run_cohort(scenario: CohortScenario, n: int, seed: int, out: str | Path, workers: int = 2,
               scheduler: str | None = None, block_size: int = DEFAULT_BLOCK_SIZE, overwrite: bool = False,
               executor: Literal["dask", "inline"] = "dask", progress: Callable[[int], None] | None = None,
               command: list[str] | None = None,
               execution: Execution | None = None) -> CohortRun:
    """Simulate ``n`` survivors of ``scenario`` into ``out`` (see the module docstring).

    ``executor="inline"`` runs the blocks in this process (no Dask), for small runs and tests; an
    ``execution`` already made (and checked) replaces ``workers``, ``scheduler`` and ``executor``.
    ``progress(k)`` is called with the number of people of each finished block. Everything is
    checked - sizes, the execution, the directory and, when it resumes a run, its settings -
    before any simulation.
    """
    check_cohort(n, seed, block_size)
    execution = execution or Execution(workers=workers, scheduler=scheduler, inline=executor == "inline")
    started = time.perf_counter()
    settings = _settings(scenario, n, seed, block_size)
    run = RunDirectory(out, kind="cohort", command=command, seed=seed, scenarios=[scenario], settings=settings,
                       overwrite=overwrite, resumable=True)
    blocks = [(b, b * block_size, min(n, (b + 1) * block_size)) for b in range((n + block_size - 1) // block_size)]
    with run:
        for table in TABLES:
            (run.path / table).mkdir(exist_ok=True)
        done = {int(name.split("-")[1]) for name in run.done()}
        todo = [b for b in blocks if b[0] not in done]
        if progress is not None and done:
            progress(sum(last - first for b, first, last in blocks if b in done))
        payload = scenario.model_dump_json()
        root = str(Path(out).resolve())
        execution.map(_block_task, [(payload, seed, block, first, last, root) for block, first, last in todo],
                      weights=[last - first for _, first, last in todo],
                      advance=progress, name="awaken-cohort")
        rows = {name: 0 for name in TABLES}
        for marker in run.done().values():
            for name, count in marker["rows"].items():
                rows[name] += count
        run.results = {"rows": rows, **execution.description}
    return CohortRun(out=Path(out), n=n, seed=seed, blocks=len(blocks), skipped_blocks=len(done), rows=rows,
                     seconds=time.perf_counter() - started)


def simulate_records(scenario: CohortScenario, n: int, seed: int, tables: tuple[str, ...] = REQUIRED_TABLES,
                     block: int = 100_000) -> dict[str, pd.DataFrame]:
    """The tables of ``n`` survivors in memory (dates as ``datetime64``), for studies that simulate
    many cohorts (calibration, power) and need no directory: the same people as :func:`run_cohort`."""
    return records_from_tables([simulate_block(scenario, seed, a, min(n, a + block)) for a in range(0, n, block)],
                               tables)


def records_from_tables(parts: Sequence[Mapping[str, pa.Table]], tables: Sequence[str] = REQUIRED_TABLES
                        ) -> dict[str, pd.DataFrame]:
    """Blocks' record tables joined into one DataFrame per table, dates as ``datetime64``."""
    out = {}
    for name in tables:
        frame = pd.concat([p[name].to_pandas() for p in parts], ignore_index=True)
        for column in frame.columns:
            if column.endswith("date"):
                frame[column] = pd.to_datetime(frame[column])
        out[name] = frame
    return out
