"""The whole ``awaken population`` command against its kernel alone and against libRoadRunner, same run.

Three timings of the same candidates (influenza, the default read-out days, the default physiological
envelope, seed ``--seed``), in alternating rounds so that the shared VM's drifting speed weighs on
all alike; medians are reported, and every round's ratios:

* **command**: ``awaken population --n N --seed S --out DIR`` in a fresh process, as a user runs it
  (interpreter, imports, loading the compiled solver, drawing, simulating, screening, read-outs,
  Parquet written), wall time and peak resident memory (``wait4``);
* **kernel**: the compiled solver alone on the same candidates, the call the command makes
  (``FastSolver.screen_columns``: the same batches and output days - every state on the read-out
  days, the envelope's two read-outs on its quarter-day grid), warm, in this process; the draws and
  everything else are prepared outside the timing;
* **libRoadRunner** doing the same work per candidate: awaken's SBML export with the
  pre-equilibration as events, one compiled model reused (``reset()``, the individual's parameters
  and starting amounts with ``setValues``), ``simulate`` at the same output days with every
  read-out selected, at its default tolerances. 10^5 individuals would take minutes, so it runs a
  sample (``--roadrunner-sample``, the first candidates) in one process and split over ``--threads``
  processes, and its time is scaled per individual to the command's candidates.

``--memory-sizes`` runs the command once more at each size and reports its peak memory.

Run:  .venv/bin/python benchmarks/population_command.py --n 100000 --rounds 3 --memory-sizes 200000 1000000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _roadrunner import simulate_individual  # noqa: E402  (benchmarks/_roadrunner.py: the peer's protocol)

SOURCE = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SOURCE))  # this checkout's awaken, here and in the command (a worktree, say)


def _command(n: int, seed: int, out: Path, threads: int) -> tuple[float, float, dict]:
    """Wall seconds, peak RSS (MB) and population.json of one ``awaken population`` run."""
    awaken = Path(sys.executable).with_name("awaken")
    env = {**os.environ, "PYTHONPATH": str(SOURCE)}
    started = time.perf_counter()
    process = subprocess.Popen([str(awaken), "population", "--n", str(n), "--seed", str(seed), "--threads",
                                str(threads), "--out", str(out), "--overwrite"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(process.stderr.read().decode())
    return seconds, usage.ru_maxrss / 1024, json.loads((out / "population.json").read_text())


def _batches(candidates: int, seed: int):
    """The command's batches of candidates, prepared as it prepares them (outside any timing)."""
    from awaken.experiments.catalogue import load_experiment
    from awaken.lung.parameters import draw_columns, load_parameter_table
    from awaken.solvers.schedule import animal_setup
    from awaken.solvers.settings import DEFAULT_OUTPUT_DAYS
    from awaken.solvers.virtual_population import (
        BATCH_SIZE,
        PhysiologicalEnvelope,
        _screening_days,
    )

    scenario = load_experiment("influenza")
    end = float(DEFAULT_OUTPUT_DAYS[-1])
    screen = _screening_days(scenario, np.array(DEFAULT_OUTPUT_DAYS, dtype=float), PhysiologicalEnvelope(), end)
    table = load_parameter_table(scenario.species)
    kept = np.isin(screen, np.array(DEFAULT_OUTPUT_DAYS, dtype=float))
    batches = []
    for start in range(0, candidates, BATCH_SIZE):
        size = min(BATCH_SIZE, candidates - start)
        draws = draw_columns(table, scenario.virus_kind, size, seed, scenario.parameters, start=start)
        params, controls, events = animal_setup(scenario, draws)
        batches.append(({**params, **controls}, size, [e for e in events if e.day < end]))
    return batches, end, screen, kept


def _kernel(batches, end: float, screen: np.ndarray, kept: np.ndarray) -> float:
    from awaken.solvers.fast import FastSolver

    solver = FastSolver()
    started = time.perf_counter()
    for columns, size, events in batches:
        solver.screen_columns(columns, size, events, end, screen, kept, ["virus_titer", "il6_pg_per_ml"])
    return time.perf_counter() - started


def _roadrunner(job: tuple[int, int, int, bool]) -> float:
    """Seconds libRoadRunner takes for candidates ``first .. first+count-1`` (model built before the clock),
    at the command's output days (``screen``: the read-out days and the envelope's grid) or only at
    the read-out days (less work than the command does)."""
    seed, first, count, screened = job
    import roadrunner

    from awaken.experiments.catalogue import load_experiment
    from awaken.export.sbml import READOUT_PREFIX, sbml_string
    from awaken.lung import equations
    from awaken.lung.parameters import draw_individuals, load_parameter_table
    from awaken.solvers.reference import PREEQUILIBRATION_DAYS
    from awaken.solvers.schedule import animal_setup
    from awaken.solvers.settings import DEFAULT_OUTPUT_DAYS
    from awaken.solvers.virtual_population import PhysiologicalEnvelope, _screening_days

    scenario = load_experiment("influenza")
    end = float(DEFAULT_OUTPUT_DAYS[-1])
    screen = _screening_days(scenario, np.array(DEFAULT_OUTPUT_DAYS, dtype=float), PhysiologicalEnvelope(), end)
    draws = draw_individuals(load_parameter_table(scenario.species), scenario.virus_kind, count, seed,
                             scenario.parameters, start=first)
    setups = [animal_setup(scenario, p) for p in draws]
    rr = roadrunner.RoadRunner(sbml_string(scenario, preequilibration=True))
    rr.timeCourseSelections = ["time", *(READOUT_PREFIX + name for name in equations.READOUTS)]
    times = [0.0, *(PREEQUILIBRATION_DAYS + (screen if screened else np.array(DEFAULT_OUTPUT_DAYS, dtype=float)))]
    species = rr.model.getFloatingSpeciesIds()
    started = time.perf_counter()
    for params, controls, events in setups:
        simulate_individual(rr, species, params, controls, events, times)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--roadrunner-sample", type=int, default=200)
    parser.add_argument("--memory-sizes", type=int, nargs="*", default=[])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import numba

    numba.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "population"
        _command(64, args.seed, out, args.threads)  # the compiled code in the cache before anything is timed
        rounds = []
        batches = None
        with mp.get_context("spawn").Pool(args.threads) as pool:
            share = args.roadrunner_sample // args.threads
            pool.map(_roadrunner, [(args.seed, k, 1, True) for k in range(args.threads)])  # workers started, untimed
            for _ in range(args.rounds):
                seconds, rss, summary = _command(args.n, args.seed, out, args.threads)
                candidates = summary["candidates"]
                if batches is None:
                    batches, end, screen, kept = _batches(candidates, args.seed)
                    _kernel(batches[:1], end, screen, kept)  # warm
                kernel = _kernel(batches, end, screen, kept)
                timing = {"command": seconds, "peak_rss_mb": rss, "kernel": kernel}
                for screened, label in ((True, ""), (False, "_readout_days_only")):
                    one = _roadrunner((args.seed, 0, args.roadrunner_sample, screened)) / args.roadrunner_sample
                    split = max(pool.map(_roadrunner, [(args.seed, k * share, share, screened)
                                                       for k in range(args.threads)])) / share
                    timing[f"roadrunner_1_process{label}"] = one * candidates
                    timing[f"roadrunner_{args.threads}_processes{label}"] = split * candidates
                rounds.append(timing)
        memory = {}
        for size in args.memory_sizes:
            seconds, rss, summary = _command(size, args.seed, out, args.threads)
            memory[size] = {"seconds": seconds, "peak_rss_mb": rss, "candidates": summary["candidates"]}
    parallel = f"roadrunner_{args.threads}_processes"
    medians = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    result = {"n": args.n, "candidates": candidates, "threads": args.threads, "rounds": rounds, "medians": medians,
              "command_over_kernel": [r["command"] / r["kernel"] for r in rounds],
              "roadrunner_parallel_over_command": [r[parallel] / r["command"] for r in rounds],
              "roadrunner_parallel_readout_days_over_command": [r[f"{parallel}_readout_days_only"] / r["command"]
                                                                for r in rounds],
              "roadrunner_sample": args.roadrunner_sample, "memory": memory}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"awaken population --n {args.n} --seed {args.seed} --threads {args.threads}: {candidates} candidates "
          f"screened; medians of {args.rounds} alternating rounds")
    print("| what | seconds | individuals/s (accepted) | command vs it |")
    print("|---|---:|---:|---:|")
    for key in ("command", "kernel", "roadrunner_1_process", parallel, "roadrunner_1_process_readout_days_only",
                f"{parallel}_readout_days_only"):
        print(f"| {key} | {medians[key]:.2f} | {args.n / medians[key]:,.0f} | "
              f"{medians[key] / medians['command']:.2f}x |")
    print("command / kernel by round: " + ", ".join(f"{v:.2f}" for v in result["command_over_kernel"]))
    print(f"libRoadRunner ({args.threads} processes, scaled from {args.roadrunner_sample}) / command by round: "
          + ", ".join(f"{v:.1f}x" for v in result["roadrunner_parallel_over_command"])
          + "; at the read-out days only: "
          + ", ".join(f"{v:.1f}x" for v in result["roadrunner_parallel_readout_days_over_command"]))
    print("peak memory of the command by round (MB): " + ", ".join(f"{r['peak_rss_mb']:.0f}" for r in rounds))
    for size, row in memory.items():
        print(f"--n {size}: {row['seconds']:.1f} s, peak memory {row['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
