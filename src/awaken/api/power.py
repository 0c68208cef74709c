"""Planning the next study from Python: the twin of ``awaken power``.

Example
-------
>>> import awaken
>>> result = awaken.power(design="flatiron", n=2000, strengths=[0, 0.008], replicates=2, inline=True)
>>> result.curve[["strength", "replicates"]].to_dict("list")
{'strength': [0.0, 0.008], 'replicates': [2, 2]}
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from awaken.runs.directory import RunDirectory
from awaken.runs.execution import Execution
from awaken.runs.progress import ProgressFactory, progress_bars
from awaken.runs.provenance import python_call
from awaken.schemas import validate
from awaken.studies.power import PowerResult, PowerSettings, power_curve

__all__ = ["power", "PowerSettings", "PowerResult"]


def power(design: str = "flatiron", n: int = 36_845, strengths: Sequence[float] = PowerSettings().strengths,
          replicates: int = 100, alpha: float = 0.05, target_power: float = 0.8, seed: int = 0, *, workers: int = 2,
          scheduler: str | None = None, inline: bool = False, out: str | Path | None = None, overwrite: bool = False,
          progress: bool | ProgressFactory = False, command: list[str] | None = None) -> PowerResult:
    """Simulation-based power of a confirmatory cohort: ``replicates`` cohorts of ``n`` people at each
    true effect (values of ``awakening_strength``), each analysed exactly as the ``design``'s recipe
    (``flatiron``: lung-metastasis hazard ratio; ``ukb``: cancer-death odds ratio). With ``out``,
    writes ``replicates.parquet``, ``curve.parquet``, ``power.json``, ``figures/power_curve`` and ``run.json``.
    """
    settings = validate({"design": design, "n": n, "strengths": tuple(strengths), "replicates": replicates,
                         "alpha": alpha, "target_power": target_power, "seed": seed}, PowerSettings)
    execution = Execution(workers=workers, scheduler=scheduler, inline=inline)
    run = None if out is None else RunDirectory(
        out, kind="power", seed=seed, overwrite=overwrite,
        settings={**settings.model_dump(mode="json"), **execution.description},
        command=command or python_call("power", design=design, n=n, replicates=replicates, seed=seed, out=out))
    with progress_bars(progress) as bar:
        advance = bar(f"power, {settings.design} design", total=len(settings.strengths) * settings.replicates,
                      unit="cohorts")
        if run is None:
            return power_curve(settings, execution=execution, progress=advance)
        with run:
            result = power_curve(settings, execution=execution, progress=advance)
            from awaken.report.study_figures import power_figure

            run.write_parquet("replicates.parquet", result.replicates)
            run.write_parquet("curve.parquet", result.curve)
            run.write_json("power.json", result.to_dict())
            run.save_figure("power_curve", power_figure(result))
            run.results = result.to_dict()
    return result
