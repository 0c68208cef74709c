"""Running a cohort at scale: blocks of people on Dask, streamed to Parquet, resumable.

People ``0 .. n-1`` are cut into blocks of ``block_size``. Each block is simulated by one task
(:func:`awaken.cohort.simulate.simulate_block`) that writes its six tables to
``OUT/<table>/block-<b>.parquet`` - each file under a temporary name, renamed when complete - and
then a marker ``OUT/_blocks/block-<b>.json`` with its row counts. A block is done exactly when its
marker exists; a re-run with the same settings skips done blocks and redoes the others, so a killed
run finishes without losing or duplicating anyone. ``OUT/cohort.json`` records the settings (and
refuses a re-run with different ones) and says ``"complete": true`` only when every block is done.

Tasks run on a Dask ``LocalCluster`` of ``workers`` processes by default, or on an existing cluster
given by ``scheduler`` (its workers must see ``OUT``: a shared file system). Memory stays bounded:
a worker holds one block at a time and the client only row counts. Draws are keyed by person id
(:mod:`awaken.cohort.draws`), so the tables are identical whatever the number of workers or blocks.

Example
-------
>>> import tempfile, pathlib
>>> from awaken.cohort.run import run_cohort, read_cohort
>>> from awaken.cohort.parameters import CohortScenario
>>> with tempfile.TemporaryDirectory() as tmp:
...     run = run_cohort(CohortScenario(), n=300, seed=1, out=pathlib.Path(tmp) / "c", block_size=100,
...                      executor="inline", response_individuals=50)
...     len(read_cohort(run.out)["patients"])
300
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow.parquet as pq

from awaken.cohort.infection_response import InfectionResponse, infection_response
from awaken.cohort.parameters import CohortScenario
from awaken.cohort.records import TABLES
from awaken.cohort.simulate import simulate_block
from awaken.config import ConfigError

__all__ = ["CohortRun", "run_cohort", "read_cohort", "cohort_connection", "MAX_PEOPLE", "DEFAULT_BLOCK_SIZE"]

MAX_PEOPLE = 100_000_000
DEFAULT_BLOCK_SIZE = 50_000
MANIFEST = "cohort.json"
_MARKERS = "_blocks"


@dataclass(frozen=True)
class CohortRun:
    out: Path
    n: int
    seed: int
    blocks: int
    skipped_blocks: int
    rows: dict[str, int]
    seconds: float


def _check(scenario: CohortScenario, n: int, seed: int, block_size: int, workers: int) -> None:
    if not 1 <= n <= MAX_PEOPLE:
        raise ConfigError(f"--n = {n}: the number of people must be >= 1 and <= {MAX_PEOPLE}")
    if not 0 <= seed <= 2**63 - 1:
        raise ConfigError(f"--seed = {seed}: must be >= 0 and < 2^63")
    if not 1 <= block_size <= 1_000_000:
        raise ConfigError(f"--block-size = {block_size}: must be >= 1 and <= 1000000 people")
    if not 1 <= workers <= 256:
        raise ConfigError(f"--workers = {workers}: must be >= 1 and <= 256")


def _settings(scenario: CohortScenario, n: int, seed: int, block_size: int, response: InfectionResponse
              ) -> dict[str, Any]:
    from awaken import __version__

    return {"scenario": scenario.model_dump(mode="json"), "scenario_sha256": scenario.sha256(), "n": n,
            "seed": seed, "block_size": block_size, "awaken_version": __version__,
            "infection_response": {"individuals": response.individuals, "seed": response.seed,
                                   "summary": response.summary()}}


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True))
    os.replace(tmp, path)


def _block_task(scenario_json: str, seed: int, block: int, first: int, last: int, out: str,
                response: InfectionResponse) -> dict[str, int]:
    """Simulate and write one block (runs on a worker)."""
    scenario = CohortScenario.model_validate_json(scenario_json)
    tables = simulate_block(scenario, seed, first, last, response)
    root = Path(out)
    name = f"block-{block:06d}.parquet"
    for table_name, table in tables.items():
        target = root / table_name / name
        tmp = target.with_name(f".{name}.{uuid.uuid4().hex[:8]}.tmp")
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, target)
    rows = {k: t.num_rows for k, t in tables.items()}
    _write_json(root / _MARKERS / f"block-{block:06d}.json", {"first": first, "last": last, "rows": rows})
    return rows


def _prepare(out: Path, settings: dict[str, Any], overwrite: bool) -> set[int]:
    """Create or re-open ``out``; return the blocks already done."""
    manifest = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory")
    if out.exists() and overwrite:
        shutil.rmtree(out)
    if out.exists() and any(out.iterdir()):
        if not manifest.is_file():
            raise ConfigError(f"--out {out}: exists and is not a cohort directory; choose a new directory or pass "
                              f"--overwrite")
        previous = json.loads(manifest.read_text())
        mine = {k: settings[k] for k in ("scenario_sha256", "n", "seed", "block_size", "awaken_version")}
        mine["response"] = {k: settings["infection_response"][k] for k in ("individuals", "seed")}
        theirs = {k: previous.get(k) for k in mine}
        theirs["response"] = {k: previous.get("infection_response", {}).get(k) for k in ("individuals", "seed")}
        if mine != theirs:
            changed = ", ".join(f"{k} ({theirs[k]} there, {mine[k]} now)" for k in mine if mine[k] != theirs[k])
            raise ConfigError(f"--out {out}: holds a cohort with other settings: {changed}; pass --overwrite to "
                              f"replace it")
        done = {int(p.stem.split("-")[1]) for p in (out / _MARKERS).glob("block-*.json")}
        for stray in [*out.glob("*/.block-*.tmp"), *out.glob(f".{MANIFEST}.*.tmp")]:
            stray.unlink()
        return done
    for name in (*TABLES, _MARKERS):
        (out / name).mkdir(parents=True, exist_ok=True)
    _write_json(manifest, {**settings, "complete": False})
    return set()


def run_cohort(scenario: CohortScenario, n: int, seed: int, out: str | Path, workers: int = 2,
               scheduler: str | None = None, block_size: int = DEFAULT_BLOCK_SIZE, overwrite: bool = False,
               executor: Literal["dask", "inline"] = "dask", progress: Callable[[int], None] | None = None,
               response_individuals: int = 2000) -> CohortRun:
    """Simulate ``n`` survivors of ``scenario`` into ``out`` (see the module docstring).

    ``executor="inline"`` runs the blocks in this process (no Dask), for small runs and tests;
    ``progress(k)`` is called with the number of people of each finished block.
    """
    _check(scenario, n, seed, block_size, workers)
    out = Path(out)
    started = time.perf_counter()
    response = infection_response(n=response_individuals)
    settings = _settings(scenario, n, seed, block_size, response)
    done = _prepare(out, settings, overwrite)
    blocks = [(b, b * block_size, min(n, (b + 1) * block_size)) for b in range((n + block_size - 1) // block_size)]
    todo = [b for b in blocks if b[0] not in done]
    if progress is not None and done:
        progress(sum(last - first for b, first, last in blocks if b in done))
    payload = scenario.model_dump_json()
    if executor == "inline":
        for block, first, last in todo:
            _block_task(payload, seed, block, first, last, str(out), response)
            if progress is not None:
                progress(last - first)
    else:
        _run_on_dask(todo, payload, seed, out, response, workers, scheduler, progress)
    rows = {name: 0 for name in TABLES}
    for marker in sorted((out / _MARKERS).glob("block-*.json")):
        for name, count in json.loads(marker.read_text())["rows"].items():
            rows[name] += count
    finished = {**settings, "complete": True, "rows": rows}
    _write_json(out / MANIFEST, finished)
    return CohortRun(out=out, n=n, seed=seed, blocks=len(blocks), skipped_blocks=len(done), rows=rows,
                     seconds=time.perf_counter() - started)


def _run_on_dask(todo, payload, seed, out, response, workers, scheduler, progress) -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=40)
        client = Client(cluster)
    try:
        shared = client.scatter(response, broadcast=True)
        futures = {client.submit(_block_task, payload, seed, block, first, last, str(out.resolve()), shared,
                                 key=f"awaken-cohort-{uuid.uuid4().hex[:6]}-block-{block}", pure=False):
                   last - first for block, first, last in todo}
        for future in as_completed(futures):
            future.result()
            if progress is not None:
                progress(futures[future])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def read_cohort(out: str | Path, tables: tuple[str, ...] = TABLES, allow_incomplete: bool = False
                ) -> dict[str, pd.DataFrame]:
    """The cohort's tables as DataFrames (rows in person order, as written)."""
    out = Path(out)
    manifest = out / MANIFEST
    if not manifest.is_file():
        raise ConfigError(f"{out}: not a cohort directory (no {MANIFEST})")
    if not json.loads(manifest.read_text()).get("complete") and not allow_incomplete:
        raise ConfigError(f"{out}: the cohort run has not finished; re-run the same command to complete it")
    frames = {}
    for name in tables:
        files = sorted((out / name).glob("block-*.parquet"))
        frames[name] = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True) if files else \
            pd.DataFrame()
    return frames


def cohort_connection(out: str | Path):
    """A DuckDB connection with one view per table over the cohort's Parquet files."""
    import duckdb

    out = Path(out)
    con = duckdb.connect()
    for name in TABLES:
        pattern = str(out / name / "block-*.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{pattern}')")
    return con
