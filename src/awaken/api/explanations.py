"""Which explanations of the human excess hold together, from Python: the twin of ``awaken explain``.

Example
-------
>>> import awaken
>>> result = awaken.explain(n=20_000, seeds=[1], particles=1, combinations=["awakening"], replicates=0)
>>> list(result.summary.index)
['awakening']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from awaken.calibration.settings import ExplainSettings
from awaken.runs.directory import RunDirectory
from awaken.runs.progress import ProgressFactory, progress_bars
from awaken.runs.provenance import python_call
from awaken.schemas import validate
from awaken.targets import published as published_value

__all__ = ["explain", "ExplainSettings", "Explanations"]


@dataclass(frozen=True)
class Explanations:
    settings: ExplainSettings
    particles: pd.DataFrame  # one row per (combination, particle, seed)
    summary: pd.DataFrame  # per combination: acceptance, Bayes factor, posterior intervals
    real_size: dict[str, np.ndarray]  # combination -> adjusted ORs of real-size studies (posterior median)
    notes: tuple[str, ...] = ()  # what could not be done (a cohort too small for a real-size study)
    null_odds: float = float("nan")  # UK Biobank OR of the first cohort with every mechanism off

    def to_dict(self) -> dict:
        published = float(published_value("H1_ukb_cancer_death")["estimate"])
        return {"settings": self.settings.model_dump(mode="json"), "null_odds_ratio": self.null_odds,
                "summary": self.summary.reset_index().to_dict(orient="records"),
                "real_size": {k: {"median": float(np.nanmedian(v)), "p025": float(np.nanpercentile(v, 2.5)),
                                  "p975": float(np.nanpercentile(v, 97.5)),
                                  "share_at_or_above_published": float(np.mean(v[np.isfinite(v)] >= published))}
                              for k, v in self.real_size.items() if np.isfinite(v).any()},
                "notes": list(self.notes)}


def explain(n: int = 300_000, seeds: Sequence[int] = (2020, 2021), particles: int = 32,
            combinations: Sequence[str] | None = None, replicates: int = 200, prior_seed: int = 7, *,
            out: str | Path | None = None, overwrite: bool = False, progress: bool | ProgressFactory = False,
            command: list[str] | None = None) -> Explanations:
    """Calibrate every combination of the human mechanisms jointly to H1, H2, C5 and P1 (rejection ABC,
    :mod:`awaken.calibration.explanations`) and run the UK Biobank recipe at the real study's size under
    each combination that can meet them (its posterior-median parameters). With ``out``, writes
    ``particles.parquet``, ``summary.csv``, ``real_size.parquet``, ``explanations.json``,
    ``figures/explanations`` and ``run.json``."""
    from awaken.calibration import explanations as ex

    settings = validate({"n": n, "seeds": tuple(seeds), "particles": particles,
                         "combinations": None if combinations is None else tuple(combinations),
                         "replicates": replicates, "prior_seed": prior_seed}, ExplainSettings)
    run = None if out is None else RunDirectory(
        out, kind="explain", seed=settings.seeds[0], overwrite=overwrite, settings=settings.model_dump(mode="json"),
        command=command or python_call("explain", n=n, seeds=list(seeds), particles=particles,
                                       combinations=None if combinations is None else list(combinations),
                                       replicates=replicates, prior_seed=prior_seed, out=out))

    def work() -> Explanations:
        names = list(settings.combinations or ex.COMBINATIONS)
        with progress_bars(progress) as bar:
            people = bar("survivors up to their lungs", total=settings.n * len(settings.seeds), unit="people")
            cohorts = [ex.prepared_cohort(settings.n, seed, progress=people) for seed in settings.seeds]
            advance = bar("particles", total=settings.particles * len(names), unit="particles")
            fit = ex.fit_prepared(cohorts, settings.seeds, names, settings.particles, settings.prior_seed, advance)
        summary = fit.summary()
        real_size, notes = {}, []
        if settings.replicates:
            for name in names:
                medians = fit.posterior_median(name)
                if medians is not None:
                    records = ex.records_of(cohorts[0], ex.combination_values(name, medians, cohorts[0][0].values))
                    try:
                        real_size[name] = ex.real_size_odds_ratios(records, settings.replicates,
                                                                   seed=settings.seeds[0])
                    except ValueError as err:  # too few tested survivors: said, not raised after the work
                        notes.append(f"{name}: no real-size studies ({err})")
        return Explanations(settings=settings, particles=fit.table(), summary=summary, real_size=real_size,
                            notes=tuple(notes), null_odds=fit.null_odds)

    if run is None:
        return work()
    with run:
        result = work()
        from awaken.report.study_figures import explanations_figure

        run.write_parquet("particles.parquet", result.particles)
        run.write_text("summary.csv", result.summary.to_csv())
        run.write_parquet("real_size.parquet", pd.DataFrame(
            [{"combination": k, "replicate": i, "odds_ratio": float(x)} for k, v in result.real_size.items()
             for i, x in enumerate(v)], columns=["combination", "replicate", "odds_ratio"]))
        run.write_json("explanations.json", result.to_dict())
        run.save_figure("explanations", explanations_figure(
            result.summary, result.real_size, float(published_value("H1_ukb_cancer_death")["estimate"])))
        run.results = result.to_dict()
    return result
