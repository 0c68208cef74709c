"""Competing explanations of the human excess, calibrated jointly with uncertainty (ABC).

Which of the cohort's mechanisms (:mod:`awaken.cohort.cancer_course`: (a) awakening, (b) occult
acceleration, (c) acceleration of established disease, (d) non-causal testing and certification) can
reproduce the human observations together, and with which parameters? For each combination of
mechanisms (:data:`COMBINATIONS`) this module draws ``particles`` parameter sets from the prior
(:data:`PRIORS`: uniform, log-uniform for the awakening strength), runs the same survivors for every
particle (common random numbers: the survivors' lives up to their lungs are simulated once per seed,
:func:`awaken.cohort.simulate.prepare_block`, and only the cancer course and the record are redone),
and accepts a particle when every human target is met on **every** seed (rejection ABC with the
targets' bands as a uniform kernel; Pritchard et al. 1999, Mol Biol Evol 16:1791):

* H1 - the UK Biobank recipe's adjusted odds ratio inside the published 95% interval;
* H2 - the hazard ratio in months 0-12 after the positive test above the one from month 12 on;
* C5 - the lung share of first distant metastases of breast cancer diagnosed before the pandemic
  (2015-2019) inside its band (SEER: about 30%);
* P1 - the share of those lung metastases caused by an infection at most its bound.

The accepted particles are the posterior sample (their intervals are the posterior intervals); the
acceptance rate of a combination estimates its marginal likelihood under the uniform kernel, so the
ratio of two rates is an ABC Bayes factor (equal prior odds on the combinations); a combination with
more mechanisms is chosen over a simpler one only on substantial evidence, a Bayes factor of at least 3
against it (:func:`choose`). For each accepted particle the causal share is
``(log OR(d off) - log OR0) / (log OR - log OR0)``, ``OR0`` the odds ratio with every mechanism off (the
design's own bias): the part of the association's excess that remains when the non-causal paths are
switched off, the part that preventing infections (or their effect) could remove. The Flatiron
design's estimate is held out: nothing here reads it.

Example
-------
>>> from awaken.calibration.explanations import COMBINATIONS, PRIORS
>>> COMBINATIONS["non_causal"]
('care_testing', 'certification')
>>> PRIORS["awakening_strength"].scale
'log'
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from awaken.cohort.draws import uniforms
from awaken.cohort.parameters import MECHANISM_SWITCHES, CohortScenario
from awaken.cohort.run import records_from_tables
from awaken.cohort.simulate import PreparedBlock, finish_block, prepare_block
from awaken.studies.ukb import ukb_analysis
from awaken.targets import load_targets

__all__ = ["Prior", "PRIORS", "COMBINATIONS", "MECHANISM_PARAMETERS", "Evaluation", "Fit", "evaluate",
           "fit_explanations", "human_measures", "prepared_cohort", "MEASURES", "draw_particles",
           "real_size_odds_ratios", "UKB_TESTED_SURVIVORS", "records_of", "fit_prepared", "choose", "posterior_table",
           "summarize", "lung_share_measures", "null_odds_ratio", "SUBSTANTIAL_BAYES_FACTOR",
           "combination_values"]


@dataclass(frozen=True)
class Prior:
    low: float
    high: float
    scale: str = "linear"  # or "log"

    def draw(self, u: np.ndarray) -> np.ndarray:
        if self.scale == "log":
            return np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)


#: Prior of each calibrated parameter (inside its range in the cohort table).
PRIORS: dict[str, Prior] = {
    "awakening_strength": Prior(1e-4, 0.03, "log"),
    "occult_acceleration": Prior(0.0, 3.0),
    "metastatic_acceleration": Prior(0.0, 3.0),
    "care_testing_factor": Prior(1.0, 10.0),
    # ONS (2020): COVID-19 was the underlying cause in about 9 of 10 deaths that mention it, so another
    # condition (cancer among them) is certified in at most about a tenth; twice that for people with a
    # cancer history is a generous upper bound
    "covid_death_certified_cancer": Prior(0.0, 0.2),
}
#: Mechanism switch -> the calibrated parameter it owns.
MECHANISM_PARAMETERS = {mechanism: name for mechanism, (name, _) in MECHANISM_SWITCHES.items()}
#: The combinations of mechanisms compared (every other mechanism switched off).
COMBINATIONS: dict[str, tuple[str, ...]] = {
    "awakening": ("awakening",),
    "occult_acceleration": ("occult_acceleration",),
    "metastatic_acceleration": ("metastatic_acceleration",),
    "acceleration": ("occult_acceleration", "metastatic_acceleration"),
    "non_causal": ("care_testing", "certification"),
    "awakening_and_non_causal": ("awakening", "care_testing", "certification"),
    "acceleration_and_non_causal": ("occult_acceleration", "metastatic_acceleration", "care_testing",
                                    "certification"),
    "all": tuple(MECHANISM_SWITCHES),
}
_NON_CAUSAL = ("care_testing", "certification")
#: The targets every accepted particle meets (targets.yaml: human, cohort and plausibility groups).
MEASURES = ("H1_ukb_cancer_death", "H2_first_year", "C5_lung_share_first_metastasis", "P1_infection_lung_share")
_TABLES = ("patients", "tests", "metastases", "deaths")


def prepared_cohort(n: int, seed: int, scenario: CohortScenario | None = None, block: int = 100_000,
                    progress: Callable[[int], None] | None = None) -> list[PreparedBlock]:
    """``n`` survivors of ``scenario`` (default: the default cohort) up to their lungs, in blocks."""
    scenario = scenario or CohortScenario()
    blocks = []
    for a in range(0, n, block):
        blocks.append(prepare_block(scenario, seed, a, min(n, a + block)))
        if progress is not None:
            progress(min(n, a + block) - a)
    return blocks


def records_of(blocks: Sequence[PreparedBlock], values: dict[str, float]) -> dict[str, pd.DataFrame]:
    """The study tables of prepared blocks finished with ``values``, as the recipes read them."""
    return records_from_tables([finish_block(b, values, _TABLES) for b in blocks], _TABLES)


def human_measures(records: dict[str, pd.DataFrame]) -> dict[str, float]:
    """H1-H4 on one cohort's records (see the module docstring); NaN where not estimable."""
    ukb = ukb_analysis(records)
    hr = ukb.hazard_ratios["HR"]
    return {
        "H1_ukb_cancer_death": ukb.odds_ratio,
        "H2_first_year": float(hr.iloc[0] / hr.iloc[1]) if hr.iloc[:2].notna().all() else math.nan,
        **{k: v for k, (v, _) in lung_share_measures(records).items()},
    }


def lung_share_measures(records: dict[str, pd.DataFrame]) -> dict[str, tuple[float, str]]:
    """C5 and P1 on one cohort's records, each with a note (as the scorecard reads them)."""
    m = records["metastases"].merge(records["patients"][["person_id", "cancer_type"]], on="person_id")
    before = m[(m.date >= "2015-01-01") & (m.date < "2020-01-01") & (m.cancer_type == "breast")]
    lung = before[before.site == "lung"]
    share = float((before.site == "lung").mean()) if len(before) else math.nan
    caused = float((lung.latent_origin == "infection").mean()) if len(lung) else math.nan
    return {
        "C5_lung_share_first_metastasis": (share, f"{len(lung):,} of {len(before):,} first distant metastases of "
                                                  "breast cancer diagnosed 2015-2019 involve the lung"),
        "P1_infection_lung_share": (caused, f"{int((lung.latent_origin == 'infection').sum()):,} of those "
                                            f"{len(lung):,} lung metastases were awakened by an infection"),
    }


def _bands() -> dict[str, tuple[float, float]]:
    targets = load_targets()
    bands = {}
    for entry in [*targets["human"], *targets["cohort"], *targets["plausibility"]]:
        if entry["id"] in MEASURES:
            lo, hi = entry["band"]
            bands[entry["id"]] = (float(lo), float(hi))
    return bands


def _inside(measures: dict[str, float], bands: dict[str, tuple[float, float]]) -> bool:
    for name, (lo, hi) in bands.items():
        value = measures[name]
        if not (lo <= value <= hi) or (name == "H2_first_year" and not value > lo):
            return False
    return True


@dataclass(frozen=True)
class Evaluation:
    combination: str
    particle: int
    parameters: dict[str, float]
    measures: list[dict[str, float]]  # one per seed
    causal_share: float  # of the log OR's excess over the no-mechanism cohort, first seed (see evaluate)
    accepted: bool


def combination_values(combination: str, parameters: dict[str, float], base: dict[str, float]) -> dict[str, float]:
    """``base`` cohort values with the combination's mechanisms at ``parameters`` and every other one off."""
    on = COMBINATIONS[combination]
    values = dict(base)
    for mechanism, (name, null) in MECHANISM_SWITCHES.items():
        values[name] = parameters[name] if mechanism in on else null
    return values


def null_odds_ratio(blocks: Sequence[PreparedBlock]) -> float:
    """The UK Biobank odds ratio of a cohort with every mechanism off: the design's own bias (COVID-19
    deaths compete with cancer deaths), the zero against which a mechanism's share is measured."""
    values = dict(blocks[0].values)
    for name, null in MECHANISM_SWITCHES.values():
        values[name] = null
    return ukb_analysis(records_of(blocks, values)).odds_ratio


def evaluate(combination: str, parameters: dict[str, float], cohorts: Sequence[Sequence[PreparedBlock]],
             bands: dict[str, tuple[float, float]] | None = None, particle: int = -1,
             null_odds: float | None = None) -> Evaluation:
    """One particle on every prepared cohort (one per seed). The causal share is measured on the first
    cohort: ``(log OR(non-causal off) - log OR0) / (log OR - log OR0)``, ``OR0`` the odds ratio with every
    mechanism off (:func:`null_odds_ratio`; pass it to spare its computation) - the part of the
    association's excess that remains without the non-causal paths (NaN when there is no excess)."""
    bands = bands or _bands()
    base = cohorts[0][0].values
    values = combination_values(combination, parameters, base)
    measures = [human_measures(records_of(blocks, values)) for blocks in cohorts]
    accepted = all(_inside(m, bands) for m in measures)
    null_odds = null_odds_ratio(cohorts[0]) if null_odds is None else null_odds
    odds = measures[0]["H1_ukb_cancer_death"]
    causal_odds = odds
    if set(COMBINATIONS[combination]) & set(_NON_CAUSAL):
        causal = dict(values)
        for mechanism in _NON_CAUSAL:
            name, null = MECHANISM_SWITCHES[mechanism]
            causal[name] = null
        causal_odds = ukb_analysis(records_of(cohorts[0], causal)).odds_ratio
    excess = math.log(odds) - math.log(null_odds)
    causal_share = (math.log(causal_odds) - math.log(null_odds)) / excess if excess > 0 else math.nan
    return Evaluation(combination=combination, particle=particle,
                      parameters={MECHANISM_PARAMETERS[m]: parameters[MECHANISM_PARAMETERS[m]]
                                  for m in COMBINATIONS[combination]},
                      measures=measures, causal_share=causal_share, accepted=accepted)


def draw_particles(combination: str, particles: int, seed: int) -> list[dict[str, float]]:
    """Prior draws for ``combination`` (counter-based: particle ``k`` depends only on ``(seed, k)``)."""
    names = [MECHANISM_PARAMETERS[m] for m in COMBINATIONS[combination]]
    out = []
    for k in range(particles):
        out.append({name: float(PRIORS[name].draw(uniforms(seed, np.array([k]), 900_000 + j)[0]))
                    for j, name in enumerate(names)})
    return out


@dataclass(frozen=True)
class Fit:
    evaluations: list[Evaluation]
    seeds: tuple[int, ...]
    n: int
    particles: int
    null_odds: float = math.nan  # UK Biobank OR of the first cohort with every mechanism off

    def table(self) -> pd.DataFrame:
        """One row per (combination, particle, seed): parameters, measures, acceptance."""
        rows = []
        for e in self.evaluations:
            for seed, m in zip(self.seeds, e.measures):
                rows.append({"combination": e.combination, "particle": e.particle, "seed": seed,
                             "accepted": e.accepted, "causal_share": e.causal_share, **e.parameters, **m})
        return pd.DataFrame(rows)

    def posterior_median(self, combination: str) -> dict[str, float] | None:
        """Median of each parameter over the accepted particles of ``combination`` (None: none accepted)."""
        accepted = [e for e in self.evaluations if e.combination == combination and e.accepted]
        if not accepted:
            return None
        return {name: float(np.median([e.parameters[name] for e in accepted])) for name in accepted[0].parameters}

    def summary(self) -> pd.DataFrame:
        """See :func:`summarize`."""
        return summarize(self.table())


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per combination (rows of a :meth:`Fit.table`): acceptance rate (the ABC evidence), Bayes factor
    against the best, the posterior medians and 90 % intervals of its parameters and of the causal share,
    and the posterior predictive median and 90 % interval of each target's measure (all seeds pooled)."""
    rows = []
    for combination in COMBINATIONS:
        group = table[table.combination == combination]
        if group.empty:
            continue
        particles = group.drop_duplicates("particle")
        accepted = particles[particles.accepted]
        row = {"combination": combination, "particles": len(particles), "accepted": len(accepted),
               "acceptance": len(accepted) / len(particles)}
        for m in COMBINATIONS[combination]:
            name = MECHANISM_PARAMETERS[m]
            row[name] = _interval(accepted[name].to_numpy(float))
        row["causal_share"] = _interval(accepted.causal_share.to_numpy(float))
        for measure in MEASURES:
            row[f"predicted {measure}"] = _interval(group.loc[group.accepted, measure].to_numpy(float))
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("combination")
    best = frame.acceptance.max()
    frame["bayes_factor_vs_best"] = frame.acceptance / best if best > 0 else math.nan
    return frame


def _interval(values: np.ndarray) -> str:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return "-"
    lo, mid, hi = np.percentile(values, [5, 50, 95])
    return f"{mid:.3g} [{lo:.3g}, {hi:.3g}]"


def fit_explanations(n: int = 300_000, seeds: Sequence[int] = (2020, 2021), particles: int = 32,
                     combinations: Sequence[str] | None = None, prior_seed: int = 7,
                     progress: Callable[[int], None] | None = None) -> Fit:
    """Rejection ABC over :data:`COMBINATIONS` (see the module docstring)."""
    combinations = list(combinations or COMBINATIONS)
    unknown = sorted(set(combinations) - set(COMBINATIONS))
    if unknown:
        raise ValueError(f"unknown combination(s) {', '.join(unknown)}: choose from {', '.join(COMBINATIONS)}")
    cohorts = [prepared_cohort(n, seed) for seed in seeds]
    return fit_prepared(cohorts, seeds, combinations, particles, prior_seed, progress)


def fit_prepared(cohorts: Sequence[Sequence[PreparedBlock]], seeds: Sequence[int], combinations: Sequence[str],
                 particles: int, prior_seed: int, progress: Callable[[int], None] | None = None) -> Fit:
    """:func:`fit_explanations` on cohorts already prepared (one per seed)."""
    bands = _bands()
    null_odds = null_odds_ratio(cohorts[0])
    evaluations = []
    for combination in combinations:
        for k, parameters in enumerate(draw_particles(combination, particles, prior_seed)):
            evaluations.append(evaluate(combination, parameters, cohorts, bands, particle=k, null_odds=null_odds))
            if progress is not None:
                progress(1)
    n = sum(b.people.size for b in cohorts[0])
    return Fit(evaluations=evaluations, seeds=tuple(seeds), n=n, particles=particles, null_odds=null_odds)


#: The real UK Biobank analysis: 4,837 tested survivors (study.md section 3).
UKB_TESTED_SURVIVORS = 4837


def real_size_odds_ratios(records: dict[str, pd.DataFrame], replicates: int = 200, size: int = UKB_TESTED_SURVIVORS,
                          seed: int = 0) -> np.ndarray:
    """The UK Biobank recipe's adjusted odds ratio on ``replicates`` studies of the real size: ``size`` tested
    survivors drawn without replacement from a large simulated cohort's tested survivors (counter-based
    draws), each fitted as the recipe fits the whole. NaN where a draw has no cancer death to compare."""
    from awaken.studies.ukb import UKBSettings, ukb_cohort
    from awaken.survival import LogisticRegression, SurvivalDataError

    data = ukb_cohort(records, UKBSettings())
    if len(data) < size:
        raise ValueError(f"the cohort has {len(data):,} tested survivors, fewer than the {size:,} of one study: "
                         "simulate more survivors")
    out = np.full(replicates, np.nan)
    index = np.arange(len(data))
    for r in range(replicates):
        keys = uniforms(seed, index, 950_000 + r)
        chosen = data.iloc[np.argsort(keys, kind="stable")[:size]]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a draw with a separated covariate: its OR is reported as is
                fit = LogisticRegression().fit(chosen, outcome="cancer_death",
                                               covariates=["positive", "age_per_10y", "male"])
        except SurvivalDataError:
            continue
        out[r] = float(np.exp(fit.params_["positive"]))
    return out


#: A combination with more mechanisms is preferred over one with fewer only on at least this Bayes factor
#: (Kass & Raftery 1995, J Am Stat Assoc 90:773: below 3, evidence "not worth more than a bare mention").
SUBSTANTIAL_BAYES_FACTOR = 3.0


def choose(summary: pd.DataFrame) -> str | None:
    """The combination the evidence favours (None when none met every target). Start from the simplest
    combinations that met the targets (fewest mechanisms; the highest acceptance among them) and move to a
    combination with more mechanisms only when its Bayes factor against the current choice - the ratio of
    acceptance rates, the ABC marginal likelihoods under equal prior odds - is at least
    :data:`SUBSTANTIAL_BAYES_FACTOR`."""
    met = summary[summary.acceptance > 0]
    if met.empty:
        return None
    chosen = None
    for size in sorted({len(COMBINATIONS[c]) for c in met.index}):
        group = met[[len(COMBINATIONS[c]) == size for c in met.index]]
        best = group.acceptance.idxmax()
        if chosen is None or group.loc[best, "acceptance"] >= SUBSTANTIAL_BAYES_FACTOR * met.loc[chosen, "acceptance"]:
            chosen = best
    return chosen


def posterior_table(particles: pd.DataFrame, combination: str) -> pd.DataFrame:
    """The accepted particles of ``combination`` (one row each: parameters and each seed's measures)."""
    rows = particles[(particles.combination == combination) & particles.accepted]
    names = [MECHANISM_PARAMETERS[m] for m in COMBINATIONS[combination]]
    wide = rows.pivot_table(index="particle", columns="seed", values=list(MEASURES))
    wide.columns = [f"{measure}_seed{seed}" for measure, seed in wide.columns]
    first = rows.drop_duplicates("particle").set_index("particle")[["combination", *names, "causal_share"]]
    return first.join(wide).reset_index()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m awaken.calibration.explanations RUN [DEST]``: from an ``awaken explain`` run, write the
    chosen combination's posterior sample (default: the shipped ``human_posterior.csv``) and print the
    posterior medians that the cohort table's defaults must carry."""
    import json
    import sys
    from importlib import resources
    from pathlib import Path

    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        raise SystemExit("usage: python -m awaken.calibration.explanations RUN_DIRECTORY [DESTINATION.csv]")
    run = Path(args[0])
    particles = pd.read_parquet(run / "particles.parquet")
    summary = summarize(particles)
    chosen = choose(summary)
    if chosen is None:
        raise SystemExit("no combination met every target: nothing to ship")
    table = posterior_table(particles, chosen)
    settings = json.loads((run / "run.json").read_text())["settings"]
    destination = Path(args[1]) if len(args) > 1 else Path(str(resources.files("awaken.calibration") / "data" /
                                                               "human_posterior.csv"))
    header = (f"# posterior sample of the human mechanisms: accepted particles of '{chosen}', chosen by the ABC "
              f"evidence among {len(summary)} combinations; awaken explain, settings {json.dumps(settings)}\n")
    destination.write_text(header + table.to_csv(index=False))
    names = [MECHANISM_PARAMETERS[m] for m in COMBINATIONS[chosen]]
    print(f"chose {chosen}; {len(table)} particles -> {destination}")
    for name in names:
        print(f"  {name}: posterior median {table[name].median():.4g}")


if __name__ == "__main__":
    main()
