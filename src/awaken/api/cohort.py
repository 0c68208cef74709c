"""Virtual cancer-survivor cohorts from Python: the twin of ``awaken cohort``.

Example
-------
>>> import tempfile, pathlib, awaken
>>> with tempfile.TemporaryDirectory() as tmp:
...     run = awaken.simulate_cohort(n=300, seed=1, out=pathlib.Path(tmp) / "c", block_size=150, workers=1, inline=True)
...     tables = awaken.read_cohort(run.out)
...     print(run.blocks, len(tables["patients"]), sorted(tables)[:3])
2 300 ['deaths', 'infections', 'metastases']
"""

from __future__ import annotations

from pathlib import Path

from awaken.cohort.parameters import CohortScenario
from awaken.cohort.run import DEFAULT_BLOCK_SIZE, CohortRun, check_cohort, run_cohort
from awaken.records import cohort_connection, read_cohort
from awaken.runs.destination import check_destination
from awaken.runs.execution import Execution
from awaken.runs.progress import ProgressFactory, progress_bars
from awaken.runs.provenance import python_call
from awaken.schemas import load_model

__all__ = ["simulate_cohort", "read_cohort", "cohort_connection", "CohortScenario", "CohortRun"]


def simulate_cohort(n: int = 100_000, seed: int = 0, *, out: str | Path, scenario: str | Path | CohortScenario | None = None,
           workers: int = 2, scheduler: str | None = None, inline: bool = False,
           block_size: int = DEFAULT_BLOCK_SIZE, overwrite: bool = False, progress: bool | ProgressFactory = False,
           command: list[str] | None = None) -> CohortRun:
    """Simulate ``n`` survivors of ``scenario`` (a :class:`CohortScenario`, a scenario file, or the
    default) into EHR-shaped Parquet tables under ``out`` (``docs/data.md``).

    Blocks of ``block_size`` people run on a Dask LocalCluster of ``workers`` processes, on an
    existing cluster (``scheduler="tcp://HOST:PORT"``, whose workers must see ``out``) or in this
    process (``inline=True``). A killed run resumes when called again with the same settings; the
    tables do not depend on the number of workers or blocks.
    """
    if scenario is None:
        scenario = CohortScenario()
    elif not isinstance(scenario, CohortScenario):
        scenario = load_model(Path(scenario), CohortScenario)
    check_cohort(n, seed, block_size)
    # checked before the progress bar appears (the run checks the directory again, with the settings of a run
    # it would resume, before any simulation)
    execution = Execution(workers=workers, scheduler=scheduler, inline=inline)
    check_destination(out, overwrite=overwrite, allow_existing_run=True)
    with progress_bars(progress) as bar:
        advance = bar(f"cohort {scenario.name}", total=n, unit="people")
        return run_cohort(scenario, n=n, seed=seed, out=out, block_size=block_size, overwrite=overwrite,
                          execution=execution, progress=advance,
                          command=command or python_call("simulate_cohort", n=n, seed=seed, out=out))
