"""Generated survival data sets that probe the edges, for the differential test against R.

Each case is a small data set (one CSV) and a model to fit on it (a row of ``manifest.csv``). The
generator is seeded, so the same cases come out on every machine; ``tests/oracle/differential.R``
fits every case with R's ``survival`` and records what R answers - estimates, or its warnings, NA
coefficients and errors - and ``tests/test_differential.py`` holds awaken to the same answers.

Scenarios (each with several seeds and sizes):

- ``ties``: integer times, many events at each;
- ``near_ties``: times computed two ways (days / 365.25 and sums of pieces) that differ by round-off;
- ``age_scale``: left-truncated follow-up on an age time scale in years (mgus2-style);
- ``weights``: fractional case weights (R then reports the robust variance);
- ``strata``: 2-4 strata, with and without weights;
- ``cluster``: several (start, stop] rows per subject and a cluster-robust variance;
- ``splits``: a time-varying exposure switched on mid-follow-up (rows split at the switch);
- ``separation``: a covariate that orders the events perfectly (monotone likelihood);
- ``collinear``: a covariate that is another plus round-off-sized noise, or an exact copy;
- ``flat_in_strata``: a covariate constant within every stratum;
- ``tiny``: 2-6 subjects;
- ``no_events``: everyone censored;
- ``single_time``: every event at one time (the proportional-hazards test has nothing to compare).

Ties are Breslow, Efron or (every fifth data set without ``(start, stop]`` rows) exact.

Write them with ``python tests/differential_cases.py DIRECTORY``; regenerate the committed R answers
with ``Rscript tests/oracle/differential.R DIRECTORY tests/data/survival/differential_oracle.json``.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261201
SCENARIOS = ("ties", "near_ties", "age_scale", "weights", "strata", "cluster", "splits", "separation", "collinear",
             "flat_in_strata", "tiny", "no_events", "single_time")
REPEATS = 10  # data sets per scenario


@dataclass(frozen=True)
class Case:
    """One model fitted to one generated data set (the columns the CSV has, and how to use them)."""

    name: str
    scenario: str
    ties: str
    covariates: str  # space-separated
    start: bool
    strata: bool
    weights: bool
    cluster: bool
    zph: bool  # also run the proportional-hazards test
    km: bool  # also fit the Kaplan-Meier of the data

    @property
    def covariate_list(self) -> list[str]:
        return self.covariates.split()


def _frame(rng: np.random.Generator, n: int, *, integer: bool = False) -> pd.DataFrame:
    x1 = rng.normal(size=n)
    x2 = (rng.random(n) < 0.5).astype(float)
    rate = 0.1 * np.exp(0.5 * x1 - 0.4 * x2)
    event_time = rng.exponential(1 / rate)
    censor_time = rng.exponential(12.0, n)
    stop = np.minimum(event_time, censor_time)
    if integer:
        stop = np.ceil(stop / 3)
    return pd.DataFrame({"stop": stop, "event": (event_time <= censor_time).astype(int), "x1": x1, "x2": x2})


def _scenario(rng: np.random.Generator, scenario: str, repeat: int) -> tuple[pd.DataFrame, dict]:
    """A data set and the model options for one scenario."""
    n = int(rng.choice([15, 40, 120, 300]))
    options = dict(ties="efron" if repeat % 3 else "breslow", covariates="x1 x2", start=False, strata=False,
                   weights=False, cluster=False, zph=True, km=True)
    if scenario == "ties":
        data = _frame(rng, n, integer=True)
        data = data[data.stop > 0].reset_index(drop=True)
    elif scenario == "near_ties":
        data = _frame(rng, n)
        days = np.round(data.stop * 30)
        pieces = rng.integers(0, 2, n) == 1
        # the same day count to years two ways: 0.1 + 0.2 != 0.3 kinds of difference
        data["stop"] = np.where(pieces, (days - 1) / 365.25 + 1 / 365.25, days / 365.25)
        data = data[data.stop > 0].reset_index(drop=True)
    elif scenario == "age_scale":
        data = _frame(rng, n)
        entry_days = rng.integers(50 * 365, 80 * 365, len(data))
        follow_days = np.maximum(np.round(data.stop * 60), 1)
        data["start"] = entry_days / 365.25
        data["stop"] = (entry_days + follow_days) / 365.25
        options.update(start=True, zph=repeat % 2 == 0)
    elif scenario == "weights":
        data = _frame(rng, n)
        data["w"] = np.round(rng.uniform(0.2, 3.0, n), 3)
        options.update(weights=True)
    elif scenario == "strata":
        data = _frame(rng, n, integer=repeat % 2 == 0)
        data = data[data.stop > 0].reset_index(drop=True)
        data["stratum"] = rng.integers(0, int(rng.integers(2, 5)), len(data))
        if repeat % 2:
            data["w"] = np.round(rng.uniform(0.5, 2.0, len(data)), 2)
            options.update(weights=True)
        options.update(strata=True)
    elif scenario in ("cluster", "splits"):
        base = _frame(rng, max(n // 3, 6))
        rows = []
        for i, row in base.iterrows():
            cuts = np.sort(rng.uniform(0, row.stop, int(rng.integers(0, 3))))
            edges = np.concatenate([[0.0], cuts, [row.stop]])
            switch = rng.uniform(0, 1.5 * row.stop)
            for a, b in zip(edges[:-1], edges[1:], strict=True):
                if b <= a:
                    continue
                rows.append({"id": i, "start": a, "stop": b, "event": int(row.event and b == row.stop),
                             "x1": row.x1, "x2": float(a >= switch) if scenario == "splits" else row.x2})
        data = pd.DataFrame(rows)
        options.update(start=True, cluster=scenario == "cluster", zph=False, km=False)
    elif scenario == "separation":
        data = _frame(rng, n)
        kind = repeat % 3
        if kind == 0:  # nobody with x2 = 1 has the event: its coefficient runs to -inf
            data.loc[data.x2 == 1, "event"] = 0
        elif kind == 1:  # the events are the first times and all have x2 = 1
            cut = np.quantile(data.stop, 0.3)
            data["x2"] = (data.stop <= cut).astype(float)
            data.loc[data.x2 == 1, "event"] = 1
        else:  # x1 is larger for every event than for anyone still at risk
            data = data.sort_values("stop").reset_index(drop=True)
            data["x1"] = -np.arange(len(data), dtype=float) / len(data)
        if data.event.sum() == 0:
            data.loc[0, "event"] = 1
    elif scenario == "collinear":
        data = _frame(rng, n)
        data["x3"] = data.x1 * 2 + 1 if repeat % 2 == 0 else data.x1 + 1e-9 * rng.normal(size=len(data))
        options.update(covariates="x1 x2 x3", zph=False)
    elif scenario == "flat_in_strata":
        data = _frame(rng, n)
        data["stratum"] = rng.integers(0, 3, len(data))
        data["x3"] = data.stratum * 1.5 + 0.1
        options.update(covariates="x1 x3", strata=True, zph=False)
    elif scenario == "tiny":
        data = _frame(rng, int(rng.integers(2, 7)))
        if repeat % 2:
            data["stop"] = np.ceil(data.stop / 10)
    elif scenario == "no_events":
        data = _frame(rng, n)
        data["event"] = 0
    elif scenario == "single_time":
        data = _frame(rng, n)
        data.loc[data.event == 1, "stop"] = float(np.round(np.median(data.stop), 2))
    else:
        raise ValueError(scenario)
    if repeat % 5 == 4 and not options["start"]:
        options["ties"] = "exact"  # R's exact likelihood lists subsets: only on data without (start, stop] rows
    for column in ("w", "stratum", "id", "start"):
        if column not in data:
            data[column] = {"w": 1.0, "stratum": 0, "id": np.arange(len(data)), "start": 0.0}[column]
    return data.reset_index(drop=True), options


def cases() -> list[tuple[Case, pd.DataFrame]]:
    rng = np.random.default_rng(SEED)
    out = []
    for scenario in SCENARIOS:
        for repeat in range(REPEATS):
            data, options = _scenario(rng, scenario, repeat)
            out.append((Case(name=f"{scenario}_{repeat}", scenario=scenario, **options), data))
    return out


def write_cases(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(asdict(cases()[0][0])))
        writer.writeheader()
        for case, data in cases():
            writer.writerow(asdict(case))
            # 17 significant digits: R reads exactly the numbers awaken fits
            data.to_csv(directory / f"{case.name}.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    write_cases(Path(sys.argv[1]))
