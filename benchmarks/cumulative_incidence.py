"""Aalen-Johansen cumulative incidence: awaken vs R's multi-state ``survfit`` and ``cmprsk::cuminc``.

Same synthetic competing-risks data for every tool (``competing_cohort``: causes 1 and 2 and
censoring, whole-day times so events tie; unweighted and right-censored, the data ``cuminc``
takes), written once per size to a CSV. Each tool runs in a fresh process that reads the CSV:

* awaken ``AalenJohansen().fit(cause=1)`` with Gray's variance (its default here; what ``cuminc``
  reports) and with ``variance="ij"`` (the infinitesimal jackknife; what ``survfit`` reports);
* R ``survival::survfit(Surv(time, factor(event, 0:2)) ~ 1)`` (multi-state Aalen-Johansen with
  its jackknife ``std.err``) and ``cmprsk::cuminc(time, event)``.

"computation" is the fit alone, best of ``--repeats`` (``system.time`` inside R, ``perf_counter``
in Python; one repeat from 10^6 rows); "whole call" is the wall time of a process that makes one
fit: start-up, imports or ``library()``, reading the CSV, the fit, writing the curve. "agreement" is the largest absolute difference
of the cause-1 incidence and of its standard error from the R tool's, at R's times. At
``--awaken-only`` sizes (10^7) only awaken runs, data made in the process, with its peak resident
memory (``resource.getrusage``) and the memory the data alone took.

Run:  .venv/bin/python benchmarks/cumulative_incidence.py      (10^4, 10^5, 10^6 with R; 10^7 awaken)
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

R_SCRIPT = r"""
suppressPackageStartupMessages({library(survival); library(cmprsk)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); tool <- args[2]; repeats <- as.integer(args[3]); out <- args[4]
best <- Inf
for (i in seq_len(repeats)) {
  if (tool == "survfit") {
    t <- system.time(fit <- survfit(Surv(time, factor(event, levels = 0:2)) ~ 1, data = d))[["elapsed"]]
  } else {
    t <- system.time(fit <- cuminc(d$time, d$event))[["elapsed"]]
  }
  best <- min(best, t)
}
if (tool == "survfit") {
  curve <- data.frame(time = fit$time, value = fit$pstate[, 2], se = fit$std.err[, 2])
} else {
  # cuminc's step corners: the value after each jump is every second entry from the third
  k <- seq(3, length(fit[["1 1"]]$time), by = 2)
  curve <- data.frame(time = fit[["1 1"]]$time[k], value = fit[["1 1"]]$est[k], se = sqrt(fit[["1 1"]]$var[k]))
}
write.csv(curve, out, row.names = FALSE)
cat(sprintf('{"seconds": %.6f, "version": "%s"}\n', best,
            as.character(packageVersion(if (tool == "survfit") "survival" else "cmprsk"))))
"""


def competing_cohort(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = [np.ceil(rng.exponential(scale, n) * 365.25) for scale in (10.0, 15.0)]
    censor = np.ceil(rng.uniform(0.0, 30.0, n) * 365.25)
    time_ = np.minimum(np.minimum(days[0], days[1]), censor)
    event = np.where(time_ == days[0], 1, np.where(time_ == days[1], 2, 0))
    return pd.DataFrame({"time": time_, "event": event})


def worker(source: str, variance: str, repeats: int, out: str | None) -> None:
    """One awaken measurement in this (fresh) process; prints JSON."""
    from awaken.survival import AalenJohansen

    data = competing_cohort(int(source)) if source.isdigit() else pd.read_csv(source)
    data_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    best, fit = np.inf, None
    for _ in range(repeats):
        started = time.perf_counter()
        fit = AalenJohansen().fit(data, time="time", event="event", cause=1, variance=variance)
        best = min(best, time.perf_counter() - started)
    if out:
        pd.DataFrame({"time": fit.cumulative_incidence_.index, "value": fit.cumulative_incidence_.to_numpy(),
                      "se": np.sqrt(fit.variance_.to_numpy())}).to_csv(out, index=False)
    print(json.dumps({"seconds": best, "rows": len(data), "times": len(fit.cumulative_incidence_),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "data_mb": data_rss / 1024}))


def _timed(command: list[str]) -> tuple[dict, float]:
    started = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1]), time.perf_counter() - started


def run_awaken(source: str, variance: str, repeats: int, out: Path | None) -> tuple[dict, float]:
    command = [sys.executable, __file__, "--worker", source, variance, str(repeats)]
    return _timed(command + ([str(out)] if out else []))


def run_r(csv: Path, tool: str, repeats: int, script: Path, out: Path) -> tuple[dict, float]:
    return _timed(["Rscript", str(script), str(csv), tool, str(repeats), str(out)])


def agreement(ours: Path, theirs: Path) -> float:
    a, r = pd.read_csv(ours).set_index("time"), pd.read_csv(theirs)
    mine = a.reindex(r["time"].to_numpy())
    return float(max(np.max(np.abs(mine["value"].to_numpy() - r["value"].to_numpy())),
                     np.max(np.abs(mine["se"].to_numpy() - r["se"].to_numpy()))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--awaken-only", type=int, nargs="*", default=[10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    have_r = shutil.which("Rscript") is not None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        script = work / "aj.R"
        script.write_text(R_SCRIPT)
        for n in args.sizes:
            csv = work / f"cohort_{n}.csv"
            competing_cohort(n).to_csv(csv, index=False)
            repeats = args.repeats if n < 1_000_000 else 1
            for variance, r_tool in (("gray", "cuminc"), ("ij", "survfit")):
                ours_out, r_out = work / f"ours_{variance}.csv", work / f"{r_tool}.csv"
                result, whole = run_awaken(str(csv), variance, repeats, ours_out)
                if repeats > 1:
                    whole = run_awaken(str(csv), variance, 1, ours_out)[1]
                entry = {"rows": n, "tool": f"awaken AalenJohansen ({variance})", "seconds": result["seconds"],
                         "whole": whole, "peak_mb": result["peak_mb"], "versus": None, "diff": None}
                rows.append(entry)
                print(entry, flush=True)
                if have_r:
                    r_result, r_whole = run_r(csv, r_tool, repeats, script, r_out)
                    if repeats > 1:
                        r_whole = run_r(csv, r_tool, 1, script, r_out)[1]
                    name = ("R survival " if r_tool == "survfit" else "R cmprsk ") + f"{r_result['version']} {r_tool}"
                    rows.append({"rows": n, "tool": name, "seconds": r_result["seconds"], "whole": r_whole,
                                 "peak_mb": None, "versus": entry, "diff": agreement(ours_out, r_out)})
                    print(rows[-1]["tool"], r_result["seconds"], r_whole, flush=True)
        for n in args.awaken_only:
            for variance in ("gray", "ij"):
                result, whole = run_awaken(str(n), variance, 1, None)
                rows.append({"rows": n, "tool": f"awaken AalenJohansen ({variance})", "seconds": result["seconds"],
                             "whole": whole, "peak_mb": result["peak_mb"], "data_mb": result["data_mb"],
                             "versus": None, "diff": None})
                print(rows[-1], flush=True)

    print()
    print("| rows | tool | computation s | whole call s | R / awaken (computation) | R / awaken (whole call) "
          "| peak memory | max abs diff from R |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for e in rows:
        ours = e["versus"]
        ratio = f"{e['seconds'] / ours['seconds']:.0f}x" if ours else "-"
        ratio_whole = f"{e['whole'] / ours['whole']:.1f}x" if ours else "-"
        memory = "-" if e["peak_mb"] is None else f"{e['peak_mb']:,.0f} MB" + (
            f" (data {e['data_mb']:,.0f} MB)" if "data_mb" in e else "")
        diff = "-" if e["diff"] is None else f"{e['diff']:.1e}"
        print(f"| {e['rows']:,} | {e['tool']} | {e['seconds']:.3f} | {e['whole']:.2f} | {ratio} | {ratio_whole} | "
              f"{memory} | {diff} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
    else:
        main()
