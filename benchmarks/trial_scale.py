"""A 2-arm in-silico trial at scale: the whole ``awaken trial run`` command, its lungs alone, and libRoadRunner.

The trial (written to a temporary file): every eligible survivor of the default cohort, randomised on
2015-01-01 and followed 10 years, under the ``awakening`` explanation; the control arm against
tocilizumab 8 mg/kg iv within 2 days of symptoms of every detected infection. Every participant lives
both arms (common random numbers); every infection runs in its survivor's lung, the treated ones with the
drug's PK/PD. Measured at each ``--sizes`` (participants screened):

* **command**: ``awaken trial run FILE --size N --workers W --no-window`` in a fresh process (start-up,
  Dask LocalCluster, both arms, the analysis, the sample size, figures and report included);
* **kernel**: the lungs alone - every infection of the control arm and every treated infection again
  with its drug (:func:`awaken.cohort.lungs.simulate_lungs`, one process, all threads), what the arms
  add to the cohort's own work;
* **peer**: libRoadRunner (awaken's exported SBML, the protocol of ``benchmarks/_roadrunner.py``) on a
  sample of the same work - untreated SARS-CoV-2 and influenza lungs, and treated lungs whose SBML
  carries the tocilizumab course's events - scaled to the command's counts and split over W processes.

Run:  .venv/bin/python benchmarks/trial_scale.py --sizes 100000 1000000 --workers 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _roadrunner import simulate_individual  # noqa: E402  (benchmarks/_roadrunner.py: the peer's protocol)

TRIAL = """name: bench_2arm
description: benchmark - tocilizumab at a detected infection against usual care, 10 years
cohort: {{start: 2013-01-01, end: 2025-01-01}}
randomisation: 2015-01-01
follow_up_years: 10
size: {size}
seed: 1
explanations: [awakening]
arms:
  - name: control
  - name: tocilizumab
    interventions:
      - {{kind: drug_at_infection, drug: tocilizumab, dose: 8, route: iv, pathogens: [sars_cov_2, influenza]}}
"""

KERNEL = """
import sys, time
import numpy as np
import pandas as pd
from awaken.cohort.lungs import simulate_lungs
from awaken.cohort.parameters import CohortScenario
from awaken.pharmacology.drugs import Course
infections, treated = int(sys.argv[1]), int(sys.argv[2])
values = CohortScenario().values()
ids = np.arange(infections); pathogen = (ids % 2).astype(np.int8); vaccine = np.zeros(infections)
course = Course(dose=8, route="iv")
simulate_lungs(1, ids[:64], pathogen[:64], vaccine[:64], values)  # numba cache load
simulate_lungs(1, ids[:64], pathogen[:64], vaccine[:64], values, [("tocilizumab", course, np.full(64, 4.0))])
t = time.perf_counter()
simulate_lungs(1, ids, pathogen, vaccine, values)
start = 3.4 + 2.0 * np.random.default_rng(0).random(treated)
simulate_lungs(1, ids[:treated], pathogen[:treated], vaccine[:treated], values, [("tocilizumab", course, start)])
print(time.perf_counter() - t)
"""


def _roadrunner(job: tuple[str, int, int]) -> float:
    """Seconds libRoadRunner takes for ``count`` survivors' ``kind`` lungs (model loaded before the clock)."""
    kind, first, count = job
    import roadrunner

    from awaken.cohort.lungs import HORIZON_DAYS, OUTPUT_DAYS, person_parameters
    from awaken.experiments.protocol import Experiment
    from awaken.export.sbml import READOUT_PREFIX, sbml_string
    from awaken.lung.parameters import load_parameter_table
    from awaken.solvers.reference import PREEQUILIBRATION_DAYS
    from awaken.solvers.schedule import animal_setup

    strain = "influenza_seasonal" if kind == "influenza" else "sars_cov_2"
    treatments = [{"kind": "drug", "drug": "tocilizumab", "dose": 8, "route": "iv", "start_day": 4.0}] \
        if kind == "treated" else []
    experiment = Experiment(name=f"survivor_{kind}", species="human", virus={"kind": strain},
                            days=int(HORIZON_DAYS) + 1, treatments=treatments)
    rr = roadrunner.RoadRunner(sbml_string(experiment, preequilibration=True))
    rr.timeCourseSelections = ["time", READOUT_PREFIX + "dcc_count", READOUT_PREFIX + "il6_pg_per_ml",
                               READOUT_PREFIX + "virus_titer"]
    species = rr.model.getFloatingSpeciesIds()
    columns = person_parameters(1, np.arange(first, first + count), strain)
    nominal = load_parameter_table("human").nominal(strain)
    times = [0.0, *(PREEQUILIBRATION_DAYS + OUTPUT_DAYS)]
    started = time.perf_counter()
    for i in range(count):
        params, controls, events = animal_setup(experiment, {**nominal, **{k: float(v[i]) for k, v in
                                                                             columns.items()}})
        simulate_individual(rr, species, params, controls, [e for e in events if e.state_increments], times)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--roadrunner-sample", type=int, default=200)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import pandas as pd

    awaken = str(Path(sys.executable).with_name("awaken"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Pool(args.workers) as pool:
        pool.map(_roadrunner, [("influenza", 0, 1)] * args.workers)  # workers up, untimed
        per = {}
        for kind in ("influenza", "sars_cov_2", "treated"):
            share = args.roadrunner_sample // args.workers
            per[kind] = max(pool.map(_roadrunner, [(kind, k * share, share) for k in range(args.workers)])) \
                / (share * args.workers)
        for n in args.sizes:
            spec = Path(tmp) / f"trial-{n}.yaml"
            spec.write_text(TRIAL.format(size=n))
            out = Path(tmp) / f"trial-{n}"
            started = time.perf_counter()
            subprocess.run([awaken, "trial", "run", str(spec), "--workers", str(args.workers), "--no-window",
                            "--out", str(out), "--format", "json"], check=True, capture_output=True)
            wall = time.perf_counter() - started
            table = pd.read_parquet(out / "tables" / "survivors.parquet")
            control = table[table["arm"] == "control"]
            arm = table[table["arm"] == "tocilizumab"]
            participants = int(control["person_id"].nunique())
            infections = int(control["infections"].sum())
            treated = int(arm["doses"].sum())  # one dose a course
            kernel = float(subprocess.run([sys.executable, "-c", KERNEL, str(infections), str(treated)], check=True,
                                          capture_output=True, text=True).stdout.split()[-1])
            peer = (infections / 2) * (per["influenza"] + per["sars_cov_2"]) + treated * per["treated"]
            row = {"screened": n, "participants": participants, "infections_per_arm": infections,
                   "treated_infections": treated, "command_seconds": wall, "kernel_seconds": kernel,
                   "roadrunner_seconds_scaled": peer, "roadrunner_over_command": peer / wall,
                   "roadrunner_per_lung_ms": {k: 1e3 * v for k, v in per.items()}}
            rows.append(row)
            print(f"{n:>9,} screened, {participants:,} participants, {infections:,} infections an arm, "
                  f"{treated:,} treated: command {wall:7.1f} s, lungs alone {kernel:6.1f} s, libRoadRunner "
                  f"({args.workers} processes, scaled from {args.roadrunner_sample} a kind) {peer:8.1f} s = "
                  f"{peer / wall:.1f}x the command", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
