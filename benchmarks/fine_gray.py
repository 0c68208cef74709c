"""Fine-Gray regression: awaken vs R's cmprsk::crr and survival::finegray + coxph, same data, one run.

The data (``competing_cohort``): a binary ``exposed`` and a standardised ``age``; progression
(cause 1, log subdistribution-scale effects 0.5 and 0.3) competes with death (cause 2); censoring
uniform over 1-5 years; times in whole months, so failures tie as in registry data. Each tool gets the
data in memory in its own format (a pandas DataFrame; a data.frame read before R's clock starts).

* awaken, crr's model: ``FineGray().fit(...)``; its kernel = the Newton iterations (the estimate,
  without the checks, the sort, the censoring weights and the sandwich variance);
* R ``cmprsk::crr`` with its defaults (gtol 1e-6): the whole call, and ``variance = FALSE`` (the
  estimate alone) as its kernel. crr's variance loops grow as ~N^2.2 on these data (1.1 s at 10^4,
  4.4 s at 2 x 10^4, 27 s at 4 x 10^4, 185 s at 10^5): the whole call runs up to ``--crr-max``
  subjects, the estimate alone up to ``--crr-estimate-max``, and the table says which;
* awaken, R's route: ``FineGray(ties="efron").fit(..., weights=)`` (unit weights); its kernel = the
  :class:`CoxPH` fit of the expanded rows;
* R ``finegray()`` + ``coxph(Surv(fgstart, fgstop, fgstatus) ~ exposed + age, weights = fgwt,
  cluster = id)`` (Efron, R's default); its kernel = the ``coxph`` call.

Agreement = largest relative difference of the two coefficients from crr's (crr's model) or from
R's coxph (R's route). The machine's load moves the seconds; run it on a quiet machine for numbers
to quote. Each size runs once (``--repeats`` for the small ones).

Run:  .venv/bin/python benchmarks/fine_gray.py --sizes 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

COVARIATES = ["exposed", "age"]
TRUE_LOG_SHR = {"exposed": 0.5, "age": 0.3}

R_SCRIPT = r"""
suppressPackageStartupMessages({library(survival); library(cmprsk)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
tools <- strsplit(args[2], ",")[[1]]
out <- list()
timed <- function(expr) { t <- system.time(value <- expr)[["elapsed"]]; list(seconds = t, value = value) }
report <- function(name, seconds, kernel, coef) {
  cat(sprintf('{"tool": "%s", "seconds": %.6f, "kernel": %.6f, "coef": [%.15g, %.15g]}\n', name, seconds, kernel,
              coef[1], coef[2]))
}
covariates <- cbind(exposed = d$exposed, age = d$age)
if ("crr" %in% tools) {
  estimate <- timed(crr(d$time, d$event, covariates, variance = FALSE))
  whole <- timed(crr(d$time, d$event, covariates))
  report("crr", whole$seconds, estimate$seconds, whole$value$coef)
} else if ("crr_estimate" %in% tools) {
  estimate <- timed(crr(d$time, d$event, covariates, variance = FALSE))
  report("crr_estimate", NA, estimate$seconds, estimate$value$coef)
}
if ("finegray" %in% tools) {
  d$status <- factor(d$event, 0:2)
  expand <- timed(finegray(Surv(time, status) ~ exposed + age + id, data = d))
  fit <- timed(coxph(Surv(fgstart, fgstop, fgstatus) ~ exposed + age, data = expand$value, weights = fgwt,
                     cluster = id))
  report("finegray", expand$seconds + fit$seconds, fit$seconds, coef(fit$value))
  cat(sprintf('{"tool": "rows", "rows": %d}\n', nrow(expand$value)))
}
cat(sprintf('{"tool": "versions", "survival": "%s", "cmprsk": "%s"}\n', packageVersion("survival"),
            packageVersion("cmprsk")))
"""


def competing_cohort(n_subjects: int, seed: int = 0) -> pd.DataFrame:
    """Progression (cause 1) competing with death (cause 2), censoring, whole months."""
    rng = np.random.default_rng(seed)
    exposed = rng.integers(0, 2, n_subjects)
    age = rng.normal(size=n_subjects)
    linear = TRUE_LOG_SHR["exposed"] * exposed + TRUE_LOG_SHR["age"] * age
    # subdistribution of cause 1: F1(t) = 1 - (1 - p (1 - exp(-t)))^exp(linear) (Fine & Gray 1999, sec. 6)
    p = 0.3
    failing = rng.random(n_subjects) < 1 - (1 - p) ** np.exp(linear)
    u = rng.random(n_subjects)
    inner = 1 - (1 - u * (1 - (1 - p) ** np.exp(linear))) ** np.exp(-linear)
    cause1_time = -np.log(1 - inner / p)
    cause2_time = rng.exponential(1 / (0.3 * np.exp(0.2 * age)))
    event_time = np.where(failing, cause1_time, cause2_time)
    censor = rng.uniform(1.0, 5.0, n_subjects)
    time_years = np.minimum(event_time, censor)
    event = np.where(event_time <= censor, np.where(failing, 1, 2), 0)
    months = np.ceil(time_years * 12)
    return pd.DataFrame({"id": np.arange(n_subjects), "time": months, "event": event, "exposed": exposed,
                         "age": age, "one": 1.0})


class _Stopwatch:
    """Adds up the time spent in the wrapped methods (the kernels) during one call."""

    def __init__(self, *targets):
        self.targets = targets
        self.seconds = 0.0

    def __enter__(self):
        self.originals = [(owner, name, getattr(owner, name)) for owner, name in self.targets]
        for owner, name, original in self.originals:
            setattr(owner, name, self._timed(original))
        return self

    def __exit__(self, *exc):
        for owner, name, original in self.originals:
            setattr(owner, name, original)

    def _timed(self, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
        return wrapper


def run_awaken(data: pd.DataFrame, route: str, repeats: int):
    from awaken.survival import CoxPH, FineGray

    if route == "crr":
        def call():
            return FineGray().fit(data, "time", "event", COVARIATES)
        targets = [(FineGray, "_newton")]   # the estimate, as crr(variance = FALSE)
    else:
        def call():
            return FineGray(ties="efron").fit(data, "time", "event", COVARIATES, weights="one")
        targets = [(CoxPH, "fit")]
    best = (np.inf, np.inf, None)
    for _ in range(repeats):
        with _Stopwatch(*targets) as watch:
            started = time.perf_counter()
            model = call()
            seconds = time.perf_counter() - started
        if seconds < best[0]:
            best = (seconds, watch.seconds, model.params_[COVARIATES].to_numpy())
    return best


def run_r(data: pd.DataFrame, tools: list[str], workdir: Path) -> dict:
    csv = workdir / "cohort.csv"
    data[["id", "time", "event", *COVARIATES]].to_csv(csv, index=False)
    script = workdir / "fit.R"
    script.write_text(R_SCRIPT)
    out = subprocess.run(["Rscript", str(script), str(csv), ",".join(tools)], check=True, capture_output=True,
                         text=True)
    results = {}
    for line in out.stdout.strip().splitlines():
        if line.startswith("{"):
            entry = json.loads(line.replace("NA", "null"))
            results[entry.pop("tool")] = entry
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3, help="best of, for sizes up to 10^5 (10^6 runs once)")
    parser.add_argument("--crr-max", type=int, default=100_000,
                        help="largest size crr runs with its variance (~3 min at 10^5, hours at 10^6)")
    parser.add_argument("--crr-estimate-max", type=int, default=1_000_000, help="largest size crr's estimate runs")
    parser.add_argument("--r-finegray-max", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    started = time.perf_counter()
    from awaken.survival import FineGray

    small = competing_cohort(500, seed=1)
    FineGray().fit(small, "time", "event", COVARIATES)
    FineGray(ties="efron").fit(small, "time", "event", COVARIATES, weights="one")
    print(f"awaken first fits in this process (kernel load or compile): {time.perf_counter() - started:.2f} s")

    have_r = shutil.which("Rscript") is not None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            data = competing_cohort(n, seed=args.seed)
            repeats = args.repeats if n <= 100_000 else 1
            entry = {"n": n, "events": data["event"].value_counts().reindex([1, 2], fill_value=0).tolist()}
            entry["awaken crr"] = run_awaken(data, "crr", repeats)
            entry["awaken finegray"] = run_awaken(data, "finegray", repeats)
            if have_r:
                tools = ["crr" if n <= args.crr_max else "crr_estimate" if n <= args.crr_estimate_max else "",
                         "finegray" if n <= args.r_finegray_max else ""]
                r = run_r(data, [t for t in tools if t], Path(tmp))
                for key in ("crr", "crr_estimate"):
                    if key in r:
                        seconds = np.inf if r[key]["seconds"] is None else r[key]["seconds"]
                        entry["R crr"] = (seconds, r[key]["kernel"], np.array(r[key]["coef"]))
                if "finegray" in r:
                    entry["R finegray+coxph"] = (r["finegray"]["seconds"], r["finegray"]["kernel"],
                                                 np.array(r["finegray"]["coef"]))
                    entry["rows"] = r["rows"]["rows"]
                entry["versions"] = r.get("versions", {})
            rows.append(entry)
            print(_describe(entry), flush=True)

    print()
    print("| subjects | tool | whole call (s) | kernel (s) | whole: x awaken | kernel: x awaken | "
          "max rel. diff of coef |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for entry in rows:
        for tool, base, reference in (("awaken crr", "awaken crr", "R crr"), ("R crr", "awaken crr", "R crr"),
                                      ("awaken finegray", "awaken finegray", "R finegray+coxph"),
                                      ("R finegray+coxph", "awaken finegray", "R finegray+coxph")):
            if tool not in entry:
                reason = _skipped(tool, entry["n"], args)
                if reason:
                    print(f"| {entry['n']:,} | {tool} | {reason} | | | | |")
                continue
            seconds, kernel, coef = entry[tool]
            ref = entry.get(reference, entry[base])[2]
            diff = np.max(np.abs(coef - ref) / np.abs(ref))
            whole_ratio = "-" if tool == base else ("(estimate only)" if not np.isfinite(seconds)
                                                    else f"{seconds / entry[base][0]:.1f}x")
            kernel_ratio = "-" if tool == base else f"{kernel / entry[base][1]:.1f}x"
            whole = "-" if not np.isfinite(seconds) else f"{seconds:.3f}"
            name = tool + (f" ({entry['rows']:,} rows)" if tool == "R finegray+coxph" else "")
            print(f"| {entry['n']:,} | {name} | {whole} | {kernel:.3f} | {whole_ratio} | {kernel_ratio} | {diff:.1e} |")
    if rows and rows[-1].get("versions"):
        print(f"\nR survival {rows[-1]['versions'].get('survival')}, cmprsk {rows[-1]['versions'].get('cmprsk')}; "
              "crr's kernel column is crr(variance = FALSE), coxph's the coxph call after finegray().")


def _skipped(tool: str, n: int, args) -> str:
    if tool == "R crr" and n > args.crr_estimate_max:
        return f"skipped (> --crr-estimate-max {args.crr_estimate_max:,})"
    if tool == "R finegray+coxph" and n > args.r_finegray_max:
        return f"skipped (> {args.r_finegray_max:,})"
    return ""


def _describe(entry) -> str:
    parts = [f"n={entry['n']:,} events={entry['events']}"]
    for tool in ("awaken crr", "R crr", "awaken finegray", "R finegray+coxph"):
        if tool in entry:
            parts.append(f"{tool} {entry[tool][0]:.3f}s (kernel {entry[tool][1]:.3f}s)")
    return "  ".join(parts)


if __name__ == "__main__":
    main()
