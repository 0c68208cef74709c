"""Virtual survivor cohorts at scale: wall time, person-years per second and scaling, 10^4 to 10^6.

Each size runs the whole job a user runs, ``awaken cohort`` (the default scenario, 2015-2025,
written to Parquet), in a fresh process - Dask LocalCluster start-up, a lung-model simulation of every
infection in its survivor's lung (:mod:`awaken.cohort.lungs`) and the Parquet writes included - on
``--workers`` workers. The fixed start-up cost (imports, cluster: about the wall time at 10^4) is what
keeps the small sizes from scaling. The same cohort is also simulated in one process without Dask
(``executor="inline"``) to show what the cluster buys, and the lungs alone are timed (the fast solver
on that many infections) so the kernel's share of the whole is visible. No peer tool simulates this
model, so the comparison is with the goal (10^6 survivors over 10 years, every infection in its
survivor's lung, in under 3 minutes on 2 cores) and with linear scaling.

Run:  .venv/bin/python benchmarks/cohort_scale.py                 (sizes 1e4 1e5 1e6, 2 workers)
      .venv/bin/python benchmarks/cohort_scale.py --sizes 10000 100000 1000000 --workers 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

INLINE = """
import sys, time
from awaken.cohort.parameters import CohortScenario
from awaken.cohort.run import run_cohort
run_cohort(CohortScenario(), n=100, seed=1, out=sys.argv[2] + "-warm-up", executor="inline")  # numba cache load
t = time.perf_counter()
run_cohort(CohortScenario(), n=int(sys.argv[1]), seed=1, out=sys.argv[2], executor="inline")
print(time.perf_counter() - t)
"""


LUNGS = """
import sys, time
import numpy as np
from awaken.cohort.lungs import simulate_lungs
from awaken.cohort.parameters import CohortScenario
n = int(sys.argv[1]); values = CohortScenario().values()
ids = np.arange(n); pathogen = (ids % 2).astype(np.int8); vaccine = np.zeros(n)
simulate_lungs(1, ids[:64], pathogen[:64], vaccine[:64], values)  # numba cache load
t = time.perf_counter()
simulate_lungs(1, ids, pathogen, vaccine, values)
print(time.perf_counter() - t)
"""


def infection_count(out: Path) -> int:
    import duckdb

    return int(duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}/infections/*.parquet')").fetchall()[0][0])


def person_years(out: Path) -> float:
    import duckdb

    query = (f"SELECT sum(date_diff('day', entry_date, exit_date)) / 365.25 FROM "
             f"read_parquet('{out}/patients/*.parquet')")
    return float(duckdb.sql(query).fetchall()[0][0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    awaken = str(Path(sys.executable).with_name("awaken"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            out = Path(tmp) / f"cohort-{n}"
            started = time.perf_counter()
            subprocess.run([awaken, "cohort", "--n", str(n), "--seed", "1", "--workers", str(args.workers),
                            "--out", str(out)], check=True, capture_output=True)
            wall = time.perf_counter() - started
            years = person_years(out)
            size = sum(f.stat().st_size for f in out.rglob("*.parquet"))
            inline = float(subprocess.run([sys.executable, "-c", INLINE, str(n), str(Path(tmp) / f"inline-{n}")],
                                          check=True, capture_output=True, text=True).stdout.split()[-1])
            infections = infection_count(out)
            lungs = float(subprocess.run([sys.executable, "-c", LUNGS, str(infections)], check=True,
                                         capture_output=True, text=True).stdout.split()[-1])
            rows.append({"people": n, "wall_seconds": wall, "person_years": years,
                         "person_years_per_second": years / wall, "parquet_mb": size / 1e6,
                         "inline_simulate_and_write_seconds": inline, "infections": infections,
                         "lungs_alone_seconds": lungs})
            print(f"{n:>9,} people  {wall:7.2f} s  {years:12,.0f} person-years  {years / wall:12,.0f} py/s  "
                  f"{size / 1e6:7.1f} MB  (one process, no Dask, simulation+writes only: {inline:6.2f} s; "
                  f"{infections:,} infections, their lungs alone {lungs:6.2f} s)", flush=True)
    if len(rows) > 1:
        x = np.log([r["people"] for r in rows])
        y = np.log([r["wall_seconds"] for r in rows])
        yi = np.log([r["inline_simulate_and_write_seconds"] for r in rows])
        print(f"scaling exponent (log wall time vs log people): {np.polyfit(x, y, 1)[0]:.2f} with start-up, "
              f"{np.polyfit(x, yi, 1)[0]:.2f} for the simulation itself (1 = linear)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
