"""Throughput of awaken's fast population solver against libRoadRunner and SciPy, same draws, same run.

Each individual is the full lung model: 365 days of uninfected pre-equilibration, the DCC reservoir
rescaled, then influenza (or the chosen experiment) for ``--days`` days after infection, read-outs
every 3 days. All three tools simulate the same parameter draws:

* awaken FastSolver - generated, numba-compiled Rodas4 with a sparse LU, individuals in SIMD lanes,
  a chunk of them per thread (``--threads``);
* libRoadRunner on awaken's exported SBML (with the pre-equilibration and DCC rescaling as events),
  one compiled model reused with ``setValues`` + ``reset`` per individual - the fastest way to use
  it - in one process, and in ``--threads`` processes; at its default relative tolerance (1e-6) and at
  the loosest one that still meets the 1e-4 accuracy (``--rr-loose-rtol``, 1e-5);
* SciPy ``solve_ivp`` (Radau, exact Jacobian) one individual at a time: awaken's reference solver.

Accuracy is the largest relative difference of ``dcc_count`` from the reference solver over the
SciPy sample, at every output day. The fast solver and libRoadRunner are timed in alternating rounds
(``--repeats``); each row keeps its best round, and the ratio is also printed round by round.
Compilation is timed separately, in fresh processes: once with an
empty cache (cold) and once with the cache filled (warm).

Run:  .venv/bin/python benchmarks/population_solver.py [--n-fast 4000 --n-roadrunner 400 --n-scipy 20 --repeats 3]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _roadrunner import simulate_individual  # noqa: E402  (benchmarks/_roadrunner.py: the peer's protocol)


def _setups(experiment: str, n: int, seed: int):
    from awaken.experiments.catalogue import load_experiment
    from awaken.lung.parameters import draw_individuals, load_parameter_table
    from awaken.solvers.schedule import animal_setup

    scenario = load_experiment(experiment)
    draws = draw_individuals(load_parameter_table(scenario.species), scenario.virus_kind, n, seed, scenario.parameters)
    return scenario, [animal_setup(scenario, p) for p in draws]


def _roadrunner_run(args: tuple[str, int, int, int, float, float, float]) -> tuple[float, np.ndarray]:
    experiment, seed, first, count, days, rtol, atol = args
    import roadrunner

    from awaken.export.sbml import READOUT_PREFIX, sbml_string
    from awaken.solvers.reference import PREEQUILIBRATION_DAYS

    scenario, setups = _setups(experiment, first + count, seed)
    setups = setups[first:]
    rr = roadrunner.RoadRunner(sbml_string(scenario, preequilibration=True))
    rr.integrator.relative_tolerance = rtol
    rr.integrator.absolute_tolerance = atol
    rr.timeCourseSelections = ["time", READOUT_PREFIX + "dcc_count"]
    times = [0.0, *(PREEQUILIBRATION_DAYS + np.arange(0.0, days + 1e-9, 3.0))]
    species = rr.model.getFloatingSpeciesIds()
    results = []
    started = time.perf_counter()
    for params, controls, events in setups:
        results.append(simulate_individual(rr, species, params, controls, events, times)[1:, 1])
    return time.perf_counter() - started, np.array(results)


def _compile_seconds(cache: str | None) -> float:
    env = dict(os.environ)
    if cache is not None:
        env["AWAKEN_CACHE_DIR"] = cache
    code = "from awaken.solvers.fast import FastSolver; print(FastSolver.compile_seconds())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="influenza")
    parser.add_argument("--days", type=float, default=120.0, help="days after infection")
    parser.add_argument("--n-fast", type=int, default=4000)
    parser.add_argument("--n-roadrunner", type=int, default=400)
    parser.add_argument("--n-scipy", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rr-rtol", type=float, default=1e-6)
    parser.add_argument("--rr-atol", type=float, default=1e-6)
    parser.add_argument("--rr-loose-rtol", type=float, default=1e-5,
                        help="libRoadRunner's loosest relative tolerance that still meets the 1e-4 accuracy (at 5e-5 "
                             "CVODE stops with too much work on this model)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per timed row")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import numba

    from awaken.solvers.fast import AMOUNT_ATOL, DEFAULT_RTOL, LANES, FastSolver
    from awaken.solvers.reference import simulate

    n_max = max(args.n_fast, args.n_roadrunner, args.n_scipy)
    _, setups = _setups(args.experiment, n_max, args.seed)
    out_days = np.arange(0.0, args.days + 1e-9, 3.0)

    rows = {}
    # SciPy one by one (the reference solver).
    started = time.perf_counter()
    reference = np.array([simulate(p, c, [e for e in ev if e.day < args.days], args.days, out_days)
                          .readouts["dcc_count"] for p, c, ev in setups[: args.n_scipy]])
    rows["scipy_radau"] = {"individuals": args.n_scipy, "seconds": time.perf_counter() - started, "max_rel_error": 0.0}

    # awaken fast solver, libRoadRunner in one process and in args.threads processes, measured in
    # rounds (one of each per round) so that the machine's speed drifting during the run - it does on
    # a shared 2-core VM - weighs on every tool alike; each row keeps its best round.
    numba.set_num_threads(args.threads)
    solver = FastSolver()
    sample = setups[: args.n_fast]
    warm = sample[:8]
    solver.simulate([s[0] for s in warm], [s[1] for s in warm], [s[2] for s in warm], args.days,
                    out_days).readouts["dcc_count"]  # compiles, and builds the read-out function
    share = args.n_roadrunner // args.threads
    tolerances = {"": args.rr_rtol, "_loose": args.rr_loose_rtol}

    def roadrunner_jobs(rtol: float) -> tuple[tuple, list[tuple]]:
        one = (args.experiment, args.seed, 0, args.n_roadrunner, args.days, rtol, args.rr_atol)
        split = [(args.experiment, args.seed, k * share, share, args.days, rtol, args.rr_atol)
                 for k in range(args.threads)]
        return one, split

    rounds: list[dict[str, float]] = []
    errors = {}
    with mp.get_context("spawn").Pool(args.threads) as pool:
        # Start the workers (interpreter, imports, one model) before anything is timed, so that their
        # start-up does not run alongside the fast solver's first round.
        pool.map(_roadrunner_run, [(args.experiment, args.seed, k, 1, args.days, args.rr_rtol, args.rr_atol)
                                   for k in range(args.threads)])
        for _ in range(args.repeats):
            timing = {}
            started = time.perf_counter()
            batch = solver.simulate([s[0] for s in sample], [s[1] for s in sample], [s[2] for s in sample],
                                    args.days, out_days)
            dcc_count = batch.readouts["dcc_count"]  # the read-out libRoadRunner is asked for, inside the timing
            timing["fast"] = time.perf_counter() - started
            for suffix, rtol in tolerances.items():
                one, split = roadrunner_jobs(rtol)
                timing["one" + suffix], rr = _roadrunner_run(one)
                errors[suffix] = float(np.max(np.abs(rr[: args.n_scipy] - reference) / reference))
                # Wall time of the slowest worker's simulation loop (model compilation excluded, as for 1 process).
                timing["all" + suffix] = max(p[0] for p in pool.map(_roadrunner_run, split))
            rounds.append(timing)
    fast = dcc_count[: args.n_scipy]
    rows[f"awaken_fast_{args.threads}_threads"] = {
        "individuals": args.n_fast, "seconds": min(r["fast"] for r in rounds),
        "max_rel_error": float(np.max(np.abs(fast - reference) / reference)),
        "steps_mean": float(batch.steps.mean())}
    for suffix, rtol in tolerances.items():
        label = "" if not suffix else f"_rtol_{rtol:g}"
        rows[f"roadrunner_1_process{label}"] = {"individuals": args.n_roadrunner,
                                                "seconds": min(r["one" + suffix] for r in rounds),
                                                "max_rel_error": errors[suffix]}
        rows[f"roadrunner_{args.threads}_processes{label}"] = {"individuals": share * args.threads,
                                                               "seconds": min(r["all" + suffix] for r in rounds),
                                                               "max_rel_error": errors[suffix]}
    # Ratios against libRoadRunner on all cores within each round (same moment, same machine speed).
    by_round = {suffix: [(args.n_fast / r["fast"]) / (share * args.threads / r["all" + suffix]) for r in rounds]
                for suffix in tolerances}

    for row in rows.values():
        row["per_second"] = row["individuals"] / row["seconds"]
    base = rows["roadrunner_1_process"]["per_second"]
    both = rows[f"roadrunner_{args.threads}_processes"]["per_second"]
    with tempfile.TemporaryDirectory() as empty:
        compile_cold = _compile_seconds(empty)
    compile_warm = _compile_seconds(None)
    summary = {"experiment": args.experiment, "days_after_infection": args.days, "threads": args.threads,
               "fast_rtol": DEFAULT_RTOL, "fast_amount_atol": AMOUNT_ATOL, "lanes": LANES,
               "roadrunner_tolerances": [args.rr_rtol, args.rr_atol],
               "compile_cold_seconds": compile_cold, "compile_cached_seconds": compile_warm, "rows": rows,
               "ratio_vs_parallel_roadrunner_by_round": by_round[""],
               "ratio_vs_parallel_loose_roadrunner_by_round": by_round["_loose"]}
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{args.experiment}, 365 d pre-equilibration + {args.days:g} d, read-outs every 3 d; seed {args.seed}")
    print(f"| solver | individuals | individuals/s | vs libRoadRunner (1 process) "
          f"| vs libRoadRunner ({args.threads} processes) | max rel. error of dcc_count |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, row in rows.items():
        print(f"| {name} | {row['individuals']} | {row['per_second']:.1f} | {row['per_second'] / base:.2f}x | "
              f"{row['per_second'] / both:.2f}x | {row['max_rel_error']:.1e} |")
    for suffix, rtol in tolerances.items():
        print(f"fast solver vs libRoadRunner (rtol {rtol:g}) on {args.threads} processes, round by round: "
              + ", ".join(f"{r:.1f}x" for r in by_round[suffix]))
    steps = rows[f"awaken_fast_{args.threads}_threads"]["steps_mean"]
    print(f"fast solver: {LANES} lanes, rtol {DEFAULT_RTOL:g}, amount atol {AMOUNT_ATOL:g}, mean accepted steps "
          f"{steps:.0f}; compilation {compile_cold:.1f} s cold, {compile_warm:.2f} s from cache")


if __name__ == "__main__":
    main()
