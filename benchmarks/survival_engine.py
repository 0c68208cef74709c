"""Cox regression with a time-varying exposure: awaken vs R coxph, lifelines and statsmodels.

Same synthetic cohort for every tool (``_survival_data.cohort``: one or two ``(start, stop]`` rows
per subject, whole-day times so events tie, covariates ``exposed`` and ``age``), Efron ties, in
one run on one machine. Each tool's fitting call is timed (data already in memory in the tool's
own format: a pandas DataFrame for the Python tools, a data.frame read before the clock starts
for R). R's coxph runs with its defaults (eps 1e-9). Agreement = largest relative difference of
the two coefficients from R's.

* awaken: ``CoxPH().fit(start=, stop=)``, best of ``--repeats`` after one warm-up (numba's
  compilation is cached on disk and reported separately);
* R: ``survival::coxph(Surv(start, stop, event) ~ exposed + age)``, best of ``--repeats``;
* lifelines: ``CoxTimeVaryingFitter`` (once; only up to ``--lifelines-max`` subjects, it needs
  minutes beyond);
* statsmodels: ``PHReg(entry=start, ties="efron")`` (once).

Run:  make bench-survival      (installs the peers, then runs this with the defaults)
      .venv/bin/python benchmarks/survival_engine.py --sizes 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _survival_data import cohort  # noqa: E402

COVARIATES = ["exposed", "age"]

R_SCRIPT = r"""
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
repeats <- as.integer(args[2])
best <- Inf
for (i in seq_len(repeats)) {
  t <- system.time(fit <- coxph(Surv(start, stop, event) ~ exposed + age, data = d, ties = "efron"))
  best <- min(best, t[["elapsed"]])
}
cat(sprintf('{"seconds": %.6f, "coef": [%.15g, %.15g], "version": "%s"}\n', best, coef(fit)[1], coef(fit)[2],
            as.character(packageVersion("survival"))))
"""


def _best_of(repeats: int, fn):
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def run_awaken(data, repeats):
    from awaken.survival import CoxPH

    def fit():
        return CoxPH().fit(data, start="start", stop="stop", event="event", covariates=COVARIATES)

    fit()  # warm-up: loads the cached kernel
    seconds, model = _best_of(repeats, fit)
    return seconds, model.params_[COVARIATES].to_numpy()


def run_r(data, repeats, workdir: Path):
    csv = workdir / "cohort.csv"
    data.to_csv(csv, index=False)
    script = workdir / "fit.R"
    script.write_text(R_SCRIPT)
    out = subprocess.run(["Rscript", str(script), str(csv), str(repeats)], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["seconds"], np.array(result["coef"]), result["version"]


def run_lifelines(data):
    from lifelines import CoxTimeVaryingFitter

    started = time.perf_counter()
    fit = CoxTimeVaryingFitter().fit(data[["id", "start", "stop", "event", *COVARIATES]], id_col="id",
                                      start_col="start", stop_col="stop", event_col="event")
    return time.perf_counter() - started, fit.params_[COVARIATES].to_numpy()


def run_statsmodels(data):
    import statsmodels.api as sm

    started = time.perf_counter()
    model = sm.PHReg(data["stop"].to_numpy(), data[COVARIATES].to_numpy(), status=data["event"].to_numpy(),
                     entry=data["start"].to_numpy(), ties="efron")
    fit = model.fit()
    return time.perf_counter() - started, np.asarray(fit.params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lifelines-max", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import awaken.survival._riskset as riskset

    started = time.perf_counter()
    from awaken.survival import CoxPH

    CoxPH().fit(cohort(200, seed=1), start="start", stop="stop", event="event", covariates=COVARIATES)
    first_use = time.perf_counter() - started
    print(f"awaken first fit in this process (kernel load or compile): {first_use:.2f} s "
          f"(cache: {Path(riskset.__file__).parent / '__pycache__'})")

    have_r = shutil.which("Rscript") is not None
    try:
        import lifelines  # noqa: F401
        have_lifelines = True
    except ImportError:
        have_lifelines = False

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            data = cohort(n, seed=args.seed)
            entry = {"subjects": n, "rows": len(data), "events": int(data["event"].sum())}
            seconds, coef = run_awaken(data, args.repeats)
            entry["awaken"] = (seconds, coef)
            if have_r:
                r_seconds, r_coef, version = run_r(data, args.repeats, Path(tmp))
                entry["R"] = (r_seconds, r_coef)
                entry["r_version"] = version
            if have_lifelines and n <= args.lifelines_max:
                entry["lifelines"] = run_lifelines(data)
            entry["statsmodels"] = run_statsmodels(data)
            rows.append(entry)
            print(_describe(entry), flush=True)

    print()
    print("| subjects | rows | events | tool | seconds | awaken faster by | max rel. diff of coef from R |")
    print("|---:|---:|---:|---|---:|---:|---:|")
    for entry in rows:
        reference = entry.get("R", entry["awaken"])[1]
        for tool in ("awaken", "R", "lifelines", "statsmodels"):
            if tool not in entry:
                continue
            seconds, coef = entry[tool]
            ratio = seconds / entry["awaken"][0]
            diff = np.max(np.abs(coef - reference) / np.abs(reference))
            name = f"R survival {entry['r_version']} coxph" if tool == "R" else tool
            print(f"| {entry['subjects']:,} | {entry['rows']:,} | {entry['events']:,} | {name} | {seconds:.3f} | "
                  f"{'-' if tool == 'awaken' else f'{ratio:.1f}x'} | {diff:.1e} |")


def _describe(entry) -> str:
    parts = [f"n={entry['subjects']:,}"]
    for tool in ("awaken", "R", "lifelines", "statsmodels"):
        if tool in entry:
            parts.append(f"{tool} {entry[tool][0]:.3f}s")
    return "  ".join(parts)


if __name__ == "__main__":
    main()
