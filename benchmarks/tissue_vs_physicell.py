"""The tissue engine against PhysiCell's SARS-CoV-2 lung tissue simulator (pc4covid19), same run.

Same domain (800 x 800 um, 20 um voxels), same simulated window, same cores:

* **PhysiCell**: ``../shared/peers/pc4covid19/bench.sh MINUTES THREADS`` builds pc4covid19 v0.5.0
  from source and times ``MINUTES`` simulated minutes of its default model (11 diffusing fields,
  ~2,900 agents at t = 0 - 2,793 epithelial cells and the resident immune cells - growing through
  the day as immune cells arrive) on ``THREADS`` OpenMP threads, output switched off. Its time is
  the simulator's process alone (start-up and set-up included, build excluded).
* **awaken, whole command**: ``awaken experiment run influenza --engine tissue --days D --mice 1
  --out DIR`` in a fresh process (interpreter, imports, loading the cached numba kernels, the
  simulation, the tables, images, movie, statistics, report and run.json written).
* **awaken, kernel alone**: :func:`awaken.tissue.engine.simulate_section` in this process, warm.

The window is the first simulated day after infection in both (PhysiCell's default starts infected;
awaken's influenza experiment infects at day 0): both start with few immune cells that arrive
through the day. awaken's agents: 6,400 epithelial cells (each a state machine with its own random
draws, as PhysiCell's epithelial agents) plus the immune cells and DCCs; the count is reported.

The scaling part runs the kernel alone on sections of 800 um to 3.2 mm (40 to 160 voxels a side,
6.7x10^3 to 1.07x10^5 agents) over the same day and reports the cost per agent per simulated
minute (it should not grow with the number of agents).

Run:  .venv/bin/python benchmarks/tissue_vs_physicell.py --minutes 1440 --threads 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "peers" / "pc4covid19" / "bench.sh"


def physicell(minutes: int, threads: int) -> dict:
    started = time.perf_counter()
    out = subprocess.run(["bash", str(BENCH), str(minutes), str(threads)], capture_output=True, text=True, check=True)
    simulated, wall, cpu = out.stdout.split()[-3:]
    return {"simulated_min": float(simulated), "wall_s": float(wall), "cpu_s": float(cpu),
            "with_build_s": time.perf_counter() - started}


def awaken_command(days: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        command = [str(Path(sys.executable).with_name("awaken")), "experiment", "run", "influenza", "--engine",
                   "tissue", "--days", str(days), "--mice", "1", "--out", str(Path(tmp) / "run")]
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        return {"wall_s": time.perf_counter() - started, "command": " ".join(command[1:-2])}


def awaken_kernel(days: float, voxels: int) -> dict:
    from awaken.experiments.catalogue import load_experiment, with_overrides
    from awaken.lung.parameters import load_parameter_table
    from awaken.tissue.engine import simulate_section

    experiment = with_overrides(load_experiment("influenza"), days=max(1, int(days)), mice=1)
    lung = load_parameter_table("mouse").nominal("influenza_a_pr8")
    simulate_section(experiment, lung, 0, voxels=voxels, keep_days=(), days=0.1)  # warm (compiled, cached)
    run = simulate_section(experiment, lung, 0, voxels=voxels, keep_days=(), days=days)
    agents = run.agent_steps / run.steps
    minutes = days * 1440
    return {"voxels": voxels, "size_um": voxels * 20, "simulated_min": minutes, "seconds": run.seconds,
            "mean_agents": agents, "seconds_per_simulated_day": run.seconds / days,
            "us_per_agent_per_simulated_min": 1e6 * run.seconds / (agents * minutes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=1440, help="simulated minutes (both engines)")
    parser.add_argument("--threads", type=int, default=2, help="PhysiCell's OpenMP threads")
    parser.add_argument("--sizes", type=int, nargs="*", default=[40, 80, 120, 160], help="voxels a side (scaling)")
    parser.add_argument("--skip-physicell", action="store_true")
    args = parser.parse_args()
    days = args.minutes / 1440
    report: dict = {"window_min": args.minutes, "threads": args.threads}

    def show(key: str, value) -> None:  # print each part as it is measured (PhysiCell runs once)
        report[key] = value
        print(json.dumps({key: value}), flush=True)

    show("awaken_kernel", awaken_kernel(days, 40))
    show("awaken_command", awaken_command(max(1, round(days))))
    show("scaling", [awaken_kernel(days, v) for v in args.sizes])
    if not args.skip_physicell:
        show("physicell", physicell(args.minutes, args.threads))
        per_day = report["physicell"]["wall_s"] / days
        show("ratio_kernel", per_day / report["awaken_kernel"]["seconds_per_simulated_day"])
        show("ratio_command", per_day / (report["awaken_command"]["wall_s"] / max(1, round(days))))


if __name__ == "__main__":
    main()
