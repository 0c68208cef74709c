"""How robust is the scorecard to which four mice were drawn?

Runs the scored experiments for many seeds (four mice per group, as in the study) and reports,
per target, the fraction of seeds that pass and the range of simulated values; also scores the
typical mouse (nominal parameters, one animal, no variability). Results go to docs/calibration.md.

    .venv/bin/python benchmarks/calibration_robustness.py --seeds 24 --days 60
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from awaken.experiments.catalogue import load_experiment, with_overrides
from awaken.scorecard import REQUIRED_EXPERIMENTS, score
from awaken.solvers.reference import run_group


def scorecard(seed: int, mice: int, days: int, variability: bool = True):
    results = {name: run_group(with_overrides(load_experiment(name), days=days, seed=seed, mice=mice,
                                                 variability=variability))
               for name in REQUIRED_EXPERIMENTS}
    return [s for s in score(results) if s.passed is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=24)
    parser.add_argument("--mice", type=int, default=4)
    parser.add_argument("--days", type=int, default=60)
    args = parser.parse_args()
    start = time.perf_counter()
    typical = {s.id: s for s in scorecard(0, 1, args.days, variability=False)}
    runs = [scorecard(seed, args.mice, args.days) for seed in range(args.seeds)]
    all_pass = sum(all(s.passed for s in run) for run in runs)
    print(f"seeds {args.seeds}, {args.mice} mice per group, {args.days} days; "
          f"{all_pass}/{args.seeds} seeds pass every mouse target ({time.perf_counter() - start:.0f} s)\n")
    print("| target | typical mouse | seeds passing | simulated range over seeds |")
    print("|---|---|---|---|")
    for i, first in enumerate(runs[0]):
        values = [run[i].simulated for run in runs]
        passed = sum(bool(run[i].passed) for run in runs)
        if isinstance(first.simulated, dict):
            rng = "; ".join(f"{k}: {min(v[k] for v in values):.3g}–{max(v[k] for v in values):.3g}" for k in first.simulated)
            typ = "; ".join(f"{k}: {v:.3g}" for k, v in typical[first.id].simulated.items())
        else:
            rng = f"{np.min(values):.3g}–{np.max(values):.3g}"
            typ = f"{typical[first.id].simulated:.3g}"
        print(f"| {first.id} | {typ} ({'pass' if typical[first.id].passed else 'FAIL'}) | {passed}/{args.seeds} | {rng} |")


if __name__ == "__main__":
    main()
