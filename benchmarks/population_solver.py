"""Throughput of awaken's fast population solver against libRoadRunner and SciPy, same draws, same run.

Each individual is the full lung model: 365 days of uninfected pre-equilibration, the DCC reservoir
rescaled, then influenza (or the chosen experiment) for ``--days`` days after infection, read-outs
every 3 days. All three tools simulate the same parameter draws:

* awaken FastSolver - generated, numba-compiled Rodas4 with a sparse LU, individuals spread over
  threads (``--threads``);
* libRoadRunner on awaken's exported SBML (with the pre-equilibration and DCC rescaling as events),
  one compiled model reused with ``setValues`` + ``reset`` per individual - the fastest way to use
  it - in one process, and in ``--threads`` processes;
* SciPy ``solve_ivp`` (Radau, exact Jacobian) one individual at a time: awaken's reference solver.

Accuracy is the largest relative difference of ``dcc_count`` from the reference solver over the
SciPy sample, at every output day. Compilation is timed separately, in fresh processes: once with an
empty cache (cold) and once with the cache filled (warm).

Run:  .venv/bin/python benchmarks/population_solver.py [--n-fast 4000 --n-roadrunner 400 --n-scipy 20]
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

import numpy as np


def _setups(experiment: str, n: int, seed: int):
    from awaken.lung.experiments import animal_setup, load_experiment
    from awaken.lung.parameters import draw_individuals, load_parameter_table

    scenario = load_experiment(experiment)
    draws = draw_individuals(load_parameter_table(scenario.species), scenario.virus_kind, n, seed, scenario.parameters)
    return scenario, [animal_setup(scenario, p) for p in draws]


def _roadrunner_run(args: tuple[str, int, int, int, float, float, float]) -> tuple[float, np.ndarray]:
    experiment, seed, first, count, days, rtol, atol = args
    import roadrunner

    from awaken.lung import equations
    from awaken.lung.sbml import READOUT_PREFIX, sbml_string
    from awaken.lung.solver import PREEQUILIBRATION_DAYS

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
        values = {**params, **controls}
        for event in events:
            for state, amount in event.state_increments.items():
                values[f"dose_{state}"] = amount
        guess = equations.initial_guess(values)
        rr.setValues(list(values), list(values.values()))
        rr.model.setFloatingSpeciesInitAmounts(np.array([guess[s] for s in species]))
        rr.reset()
        results.append(rr.simulate(times=times)[1:, 1])
    return time.perf_counter() - started, np.array(results)


def _compile_seconds(cache: str | None) -> float:
    env = dict(os.environ)
    if cache is not None:
        env["AWAKEN_CACHE_DIR"] = cache
    code = "from awaken.lung.fast_solver import FastSolver; print(FastSolver.compile_seconds())"
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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import numba

    from awaken.lung.fast_solver import DEFAULT_RTOL, FastSolver
    from awaken.lung.solver import simulate

    n_max = max(args.n_fast, args.n_roadrunner, args.n_scipy)
    _, setups = _setups(args.experiment, n_max, args.seed)
    out_days = np.arange(0.0, args.days + 1e-9, 3.0)

    rows = {}
    # SciPy one by one (the reference solver).
    started = time.perf_counter()
    reference = np.array([simulate(p, c, [e for e in ev if e.day < args.days], args.days, out_days).readouts["dcc_count"]
                          for p, c, ev in setups[: args.n_scipy]])
    rows["scipy_radau"] = {"individuals": args.n_scipy, "seconds": time.perf_counter() - started, "max_rel_error": 0.0}

    # awaken fast solver.
    numba.set_num_threads(args.threads)
    solver = FastSolver()
    sample = setups[: args.n_fast]
    solver.simulate([s[0] for s in sample[:8]], [s[1] for s in sample[:8]], [s[2] for s in sample[:8]], args.days, out_days)
    started = time.perf_counter()
    batch = solver.simulate([s[0] for s in sample], [s[1] for s in sample], [s[2] for s in sample], args.days, out_days)
    elapsed = time.perf_counter() - started
    fast = batch.readouts["dcc_count"][: args.n_scipy]
    rows[f"awaken_fast_{args.threads}_threads"] = {
        "individuals": args.n_fast, "seconds": elapsed,
        "max_rel_error": float(np.max(np.abs(fast - reference) / reference)),
        "steps_mean": float(batch.steps.mean())}

    # libRoadRunner, one process and args.threads processes.
    job = (args.experiment, args.seed, 0, args.n_roadrunner, args.days, args.rr_rtol, args.rr_atol)
    seconds, rr = _roadrunner_run(job)
    rows["roadrunner_1_process"] = {"individuals": args.n_roadrunner, "seconds": seconds,
                                    "max_rel_error": float(np.max(np.abs(rr[: args.n_scipy] - reference) / reference))}
    share = args.n_roadrunner // args.threads
    jobs = [(args.experiment, args.seed, k * share, share, args.days, args.rr_rtol, args.rr_atol)
            for k in range(args.threads)]
    started = time.perf_counter()
    with mp.get_context("spawn").Pool(args.threads) as pool:
        parts = pool.map(_roadrunner_run, jobs)
    # Wall time of the slowest worker's simulation loop (model compilation excluded, as for 1 process).
    rows[f"roadrunner_{args.threads}_processes"] = {"individuals": share * args.threads,
                                                    "seconds": max(p[0] for p in parts),
                                                    "max_rel_error": rows["roadrunner_1_process"]["max_rel_error"]}

    for row in rows.values():
        row["per_second"] = row["individuals"] / row["seconds"]
    base = rows["roadrunner_1_process"]["per_second"]
    with tempfile.TemporaryDirectory() as empty:
        compile_cold = _compile_seconds(empty)
    compile_warm = _compile_seconds(None)
    summary = {"experiment": args.experiment, "days_after_infection": args.days, "threads": args.threads,
               "fast_rtol": DEFAULT_RTOL, "roadrunner_tolerances": [args.rr_rtol, args.rr_atol],
               "compile_cold_seconds": compile_cold, "compile_cached_seconds": compile_warm, "rows": rows}
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{args.experiment}, 365 d pre-equilibration + {args.days:g} d, read-outs every 3 d; seed {args.seed}")
    print("| solver | individuals | individuals/s | vs libRoadRunner (1 process) | max rel. error of dcc_count |")
    print("|---|---:|---:|---:|---:|")
    for name, row in rows.items():
        print(f"| {name} | {row['individuals']} | {row['per_second']:.1f} | {row['per_second'] / base:.2f}x | "
              f"{row['max_rel_error']:.1e} |")
    print(f"fast solver: rtol {DEFAULT_RTOL:g}, mean accepted steps {rows[f'awaken_fast_{args.threads}_threads']['steps_mean']:.0f}; "
          f"compilation {compile_cold:.1f} s cold, {compile_warm:.2f} s from cache")


if __name__ == "__main__":
    main()
