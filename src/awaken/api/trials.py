"""In-silico trials from Python: the twins of ``awaken trial run`` and ``awaken trial window``.

Example
-------
>>> import awaken
>>> result = awaken.run_trial("examples/trials/vaccination.yaml", size=300, inline=True)
>>> sorted(result.survivors["arm"].unique())  # every arm, and the world where infections do nothing to the cancer
['control', 'no_causal_effect', 'vaccination']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from awaken.errors import InputError
from awaken.runs.directory import RunDirectory
from awaken.runs.execution import Execution
from awaken.runs.progress import ProgressFactory, progress_bars
from awaken.runs.provenance import python_call
from awaken.pharmacology.drugs import load_drug_table
from awaken.schemas import load_model, validate
from awaken.trials.design import Trial
from awaken.trials.outcomes import TrialOutcomes, trial_outcomes
from awaken.trials.run import REFERENCE_ARM, check_enrolment, simulate_trial
from awaken.trials.sample_size import SampleSize, sample_size

__all__ = ["load_trial", "run_trial", "trial_window", "drug_table", "TrialResult", "Trial"]


def load_trial(path: str | Path) -> Trial:
    """Read and validate a trial file (YAML or TOML); problems name their field and the file.

    >>> load_trial("examples/trials/antiviral.yaml").arms[1].interventions[0].drug
    'nirmatrelvir_ritonavir'
    """
    return load_model(Path(str(path)), Trial)


def drug_table(name: str | None = None) -> list[dict[str, Any]]:
    """Every PK/PD value of every drug (or of ``name``): drug, species, target, block, parameter, value,
    unit, plausible range, between-person cv and source; block ``administration`` is the default dose
    with the doses a course may have (the doses the drug was given at in its sources).

    >>> [r["value"] for r in drug_table("tocilizumab") if r["parameter"] == "clearance"]
    [0.3]
    """
    table = load_drug_table()
    if name is not None and name not in table.drugs:
        raise InputError.field("name", f"choose one of {', '.join(table.drugs)}", name)
    rows = []
    for key, drug in table.drugs.items():
        if name is not None and key != name:
            continue
        rows.append({"drug": key, "species": drug.species, "target": drug.target, "block": "administration",
                     "parameter": "dose", "value": drug.default.dose, "unit": drug.dose_unit,
                     "range": list(drug.dose_range), "cv": 0.0, "source": drug.dose_range_source})
        for block, parameters in (("pk", drug.pk), ("pd", drug.pd), ("dose_effect", drug.dose_effect)):
            rows += [{"drug": key, "species": drug.species, "target": drug.target, "block": block,
                      "parameter": p.name, "value": p.value, "unit": p.unit, "range": list(p.range), "cv": p.cv,
                      "source": p.source} for p in parameters]
    if name is None:
        rows += [{"drug": "(IL-6 pathway)", "species": "both", "target": "class effect", "block": "class_effects",
                  "parameter": p.name, "value": p.value, "unit": p.unit, "range": list(p.range), "cv": p.cv,
                  "source": p.source} for p in (*table.class_effects, *table.harms)]
    return rows


@dataclass
class TrialResult:
    """What ``awaken trial run`` makes: the trial, the counterfactual table, the analysis, the sample size."""

    trial: Trial
    survivors: pd.DataFrame
    outcomes: TrialOutcomes
    sample_size: SampleSize | None
    window: pd.DataFrame | None

    def to_dict(self) -> dict[str, Any]:
        out = {"trial": self.trial.model_dump(mode="json"), "outcomes": self.outcomes.to_dict()}
        if self.sample_size is not None:
            out["sample_size"] = self.sample_size.to_dict()
        return out


def run_trial(trial: str | Path | Trial, *, size: int | None = None, seed: int | None = None, window: bool = True,
              workers: int = 2, scheduler: str | None = None, inline: bool = False, out: str | Path | None = None,
              overwrite: bool = False, progress: bool | ProgressFactory = False,
              command: list[str] | None = None) -> TrialResult:
    """Run a trial file (or :class:`Trial`): every participant under every arm and every explanation
    (:mod:`awaken.trials.run`), analysed (:mod:`awaken.trials.outcomes`) with the sample size of a real
    trial (:mod:`awaken.trials.sample_size`); ``window`` (default) adds the mouse window of opportunity
    (:mod:`awaken.trials.mouse`, 8 mice and 20 ensemble members, about 10 s). ``size`` and ``seed``
    override the file's. With ``out``, writes
    ``tables/*.parquet`` (the counterfactual table ``survivors``, ``incidence``, ``effects``, ``harms``,
    ``sample_size``, ``window``), ``figures/*`` (PNG, SVG and the data of each as Parquet),
    ``trial.json``, ``report.html`` and ``run.json``."""
    spec = trial if isinstance(trial, Trial) else load_trial(trial)
    changes = {k: v for k, v in {"size": size, "seed": seed}.items() if v is not None}
    if changes:
        spec = validate({**spec.model_dump(), **changes}, Trial)
    check_enrolment(spec)
    execution = Execution(workers=workers, scheduler=scheduler, inline=inline)
    run = None if out is None else RunDirectory(
        out, kind="trial", seed=spec.seed, overwrite=overwrite,
        settings={"trial": spec.model_dump(mode="json"), "window": window, **execution.description},
        command=command or python_call("run_trial", trial=str(trial) if not isinstance(trial, Trial) else spec.name,
                                       size=size, seed=seed, out=out))
    with progress_bars(progress) as bar:
        advance = bar(f"trial {spec.name}", total=spec.size * len(spec.explanations), unit="participants")
        if run is None:
            return _run(spec, execution, advance, window)
        with run:
            result = _run(spec, execution, advance, window)
            _write(run, result)
    return result


def _run(spec: Trial, execution: Execution, advance, window: bool) -> TrialResult:
    survivors = simulate_trial(spec, execution=execution, advance=advance)
    if survivors.empty:
        raise InputError.field("size", "no participant was alive and free of metastasis at randomisation",
                               spec.size)
    horizon = float(survivors["follow_up_days"].iloc[0])
    control = spec.arms[0].name
    outcomes = trial_outcomes(survivors, control, horizon, endpoints=tuple(spec.endpoints), reference=REFERENCE_ARM)
    design = None
    if "lung_metastasis" in spec.endpoints:
        design = sample_size(survivors, control, horizon, endpoint="lung_metastasis", seed=spec.seed,
                             arms=[a.name for a in spec.arms[1:]], hazard_ratios=tuple(spec.design_hazard_ratios))
    mouse = None
    if window:
        from awaken.trials.mouse import window_of_opportunity
        mouse = window_of_opportunity(seed=spec.seed)
    return TrialResult(spec, survivors, outcomes, design, mouse)


def earlier_diagnoses(survivors: pd.DataFrame, arms: list[str]) -> pd.DataFrame:
    """Per explanation and arm: lung metastases diagnosed earlier than under the control (surveillance's
    lead time), per 1,000 survivors, and the mean and median days earlier among them."""
    rows = []
    for (explanation, arm), part in survivors[survivors["arm"].isin(arms)].groupby(["explanation", "arm"], sort=False):
        days = part["lung_metastasis_earlier_days"].to_numpy(dtype=float)
        earlier = days[days > 0]
        rows.append({"explanation": explanation, "arm": arm, "survivors": len(part),
                     "earlier_per_1000": 1000 * earlier.size / max(len(part), 1),
                     "mean_days_earlier": float(earlier.mean()) if earlier.size else 0.0,
                     "median_days_earlier": float(np.median(earlier)) if earlier.size else 0.0})
    return pd.DataFrame(rows)


def _effect_rows(outcomes: TrialOutcomes) -> list[dict[str, str]]:
    def ci(v, lo, hi, digits=4):
        return "-" if not np.isfinite(v) else f"{v:.{digits}f} ({lo:.{digits}f} to {hi:.{digits}f})"

    rows = []
    for _, e in outcomes.effects.iterrows():
        rows.append({"explanation": e["explanation"], "endpoint": e["endpoint"], "arm": e["arm"],
                     "risk_control": f"{e['control_risk_paired']:.4f}", "risk_arm": f"{e['risk_paired']:.4f}",
                     "rd_paired": ci(e["rd_paired"], e["rd_paired_lower"], e["rd_paired_upper"]),
                     "rd_trial": ci(e["rd_trial"], e["rd_trial_lower"], e["rd_trial_upper"]),
                     "hr": ci(e["hr"], e["hr_lower"], e["hr_upper"], 2), "nnt": e["nnt_paired_text"],
                     "prevented": ci(e.get("prevented_share", np.nan), e.get("prevented_share_lower", np.nan),
                                     e.get("prevented_share_upper", np.nan), 2)})
    return rows


def _write(run: RunDirectory, result: TrialResult) -> None:
    from awaken.report.html import render_template
    from awaken.report.trial_figures import trial_figures

    earlier = earlier_diagnoses(result.survivors, [a.name for a in result.trial.arms[1:]])
    tables = {"survivors": result.survivors, **result.outcomes.tables(), "earlier_diagnoses": earlier}
    if result.sample_size is not None:
        tables.update(result.sample_size.tables())
    if result.window is not None:
        tables["window"] = result.window
    for name, frame in tables.items():
        run.write_parquet(f"tables/{name}.parquet", frame)
    run.write_json("trial.json", result.to_dict())
    figures = trial_figures(run, result.outcomes, sample_size=result.sample_size, window=result.window)
    enrolled = int(result.survivors.groupby("explanation")["person_id"].nunique().min())
    notes = [*result.outcomes.notes, *(result.sample_size.notes if result.sample_size is not None else ())]
    provenance = run.finish({"enrolled_per_explanation": enrolled,
                             "effects": [{k: r[k] for k in ("explanation", "endpoint", "arm", "rd_paired")}
                                         for r in _effect_rows(result.outcomes)]})
    run.write_text("report.html", render_template(
        "trial.html.j2", title=f"awaken trial: {result.trial.name}", prov=provenance, trial=result.trial,
        enrolled=enrolled, effects=_effect_rows(result.outcomes), earlier=earlier.to_dict("records"),
        figures=figures, notes=notes,
        tables=[f"tables/{n}.parquet" for n in tables]))


def trial_window(drugs: tuple[str, ...] = ("mr16_1", "oseltamivir", "anti_cd4"), start_days: tuple[float, ...] =
                 tuple(range(15)), read_days: tuple[int, ...] = (15, 28, 60), mice: int = 8, members: int = 20,
                 seed: int = 0, *, out: str | Path | None = None, overwrite: bool = False) -> pd.DataFrame:
    """The mouse window of opportunity (:func:`awaken.trials.mouse.window_of_opportunity`); with ``out``,
    ``tables/window.parquet``, ``figures/trial_window.*`` and ``run.json``."""
    from awaken.trials.mouse import window_of_opportunity

    from awaken.trials.mouse import WINDOW_ARMS

    unknown = [d for d in drugs if d not in WINDOW_ARMS]
    if not drugs or unknown:
        raise InputError.field("drugs", f"choose from {', '.join(WINDOW_ARMS)}", ", ".join(unknown) or "none")
    if not start_days or any(not 0 <= d <= 60 for d in start_days):
        raise InputError.field("start_days", "each must be >= 0 and <= 60 d", list(start_days))
    if not read_days or any(not 1 <= d <= 365 for d in read_days) or max(start_days) >= max(read_days):
        raise InputError.field("read_days", "each must be >= 1 and <= 365 d, the last after the last start day",
                               list(read_days))
    if not 1 <= mice <= 1000:
        raise InputError.field("mice", "must be >= 1 and <= 1000", mice)
    if not 1 <= members <= 200:
        raise InputError.field("members", "must be >= 1 and <= 200", members)
    run = None if out is None else RunDirectory(out, kind="trial_window", seed=seed, overwrite=overwrite,
                                                settings={"drugs": list(drugs), "mice": mice, "members": members},
                                                command=python_call("trial_window", mice=mice, out=out))
    if run is None:
        return window_of_opportunity(drugs, start_days, read_days, mice, members, seed)
    with run:
        window = window_of_opportunity(drugs, start_days, read_days, mice, members, seed)
        from awaken.report.trial_figures import save_trial_figure, window_figure
        run.write_parquet("tables/window.parquet", window)
        fig, data = window_figure(window)
        save_trial_figure(run, "trial_window", fig, data)
    return window
