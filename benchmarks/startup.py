"""Start-up of the command line as a user meets it: whole commands in fresh processes, best and median of N.

    .venv/bin/python benchmarks/startup.py --repeats 7

Each row is one command run from a new process (interpreter, imports, typer, the work); ``import
awaken`` alone is beside them. The commands are the quick ones, whose wall time is mostly start-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AWAKEN = [sys.executable, "-m", "awaken.cli"]


def _time(command: list[str], repeats: int) -> tuple[float, float]:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        seconds.append(time.perf_counter() - started)
    return min(seconds), statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = {
            "python -c 'import awaken'": [sys.executable, "-c", "import awaken"],
            "awaken --help": [*AWAKEN, "--help"],
            "awaken validate examples/my_experiment.yaml": [*AWAKEN, "validate", "examples/my_experiment.yaml"],
            "awaken experiment list": [*AWAKEN, "experiment", "list"],
            "awaken parameters --format json": [*AWAKEN, "parameters", "--format", "json"],
        }
        results = {name: _time(command, args.repeats) for name, command in rows.items()}
        run = [*AWAKEN, "experiment", "run", "pbs", "--days", "10", "--mice", "1", "--out"]
        results["awaken experiment run pbs --days 10 --mice 1"] = _time(
            ["bash", "-c", " ".join([*run, f"{tmp}/r$RANDOM$RANDOM"])], args.repeats)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'command':<50} {'best':>8} {'median':>8}")
    for name, (best, median) in results.items():
        print(f"{name:<50} {best:>7.2f}s {median:>7.2f}s")


if __name__ == "__main__":
    main()
