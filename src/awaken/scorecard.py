"""The scorecard: every observation of the study, the simulated value and pass/fail.

Observations live as data (:mod:`awaken.targets`). Each mouse target has a *measure* here: a
function of the virtual experiments' group means, exactly as ``targets.yaml`` words it, evaluated
on results that keep the result contract (:class:`~awaken.experiments.results.ExperimentResult`),
so every engine is scored by the same code. The bands are read from the file, never restated.

Fold changes compare group means at the same time point, as the study did. Human targets (H*)
are scored from the analysis recipes' results on a simulated cohort (:func:`score`'s ``human``);
without them they are reported as pending.

Example
-------
>>> REQUIRED_EXPERIMENTS[:2]
('anti_cd4_influenza', 'igg_influenza')
>>> in_band(150.0, [100, 1000])
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from awaken.experiments.results import VIRUS_DETECTION_LIMIT, ExperimentResult
from awaken.targets import (
    LAST_TARGET_DAY,
    STUDY_GROUPS,
    load_targets,
    target,
    target_ids,
)

__all__ = ["TargetScore", "Scorecard", "score", "REQUIRED_EXPERIMENTS", "LAST_TARGET_DAY", "in_band", "MEASURES",
           "Ratio", "Level", "Parts", "Custom"]

#: Days over which the proliferation peak (M3) and viral curves (M11) are examined.
EARLY_WINDOW_DAYS = 28


@dataclass(frozen=True)
class TargetScore:
    """One row of the scorecard."""

    id: str
    observation: str
    measure: str
    band: Any
    band_from: str
    source: str
    simulated: Any
    passed: bool | None
    note: str = ""
    parts: dict[str, bool] = field(default_factory=dict)


def in_band(value: float, band: list[float]) -> bool:
    """Whether ``value`` lies in the closed band ``[lo, hi]`` (``hi`` may be infinite; NaN never passes)."""
    lo, hi = band
    return bool(lo <= value <= hi)


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.inf


@dataclass(frozen=True)
class Ratio:
    """Group mean of ``readout`` in ``treated`` at ``day`` over the same in ``control`` at
    ``control_day`` (default: the same day). Declarative, so the PEtab export can translate it."""

    readout: str
    treated: str
    control: str
    day: float
    control_day: float | None = None

    kind = "ratio"

    @property
    def reference_day(self) -> float:
        return self.day if self.control_day is None else self.control_day

    @property
    def experiments(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.treated, self.control)))

    def __call__(self, results: Mapping[str, Any]) -> float:
        return _ratio(results[self.treated].at(self.day, self.readout),
                      results[self.control].at(self.reference_day, self.readout))


@dataclass(frozen=True)
class Level:
    """Group mean of ``readout`` (a fraction) in ``experiment`` at ``day``."""

    readout: str
    experiment: str
    day: float

    kind = "level"

    @property
    def experiments(self) -> tuple[str, ...]:
        return (self.experiment,)

    def __call__(self, results: Mapping[str, Any]) -> float:
        return results[self.experiment].at(self.day, self.readout)


@dataclass(frozen=True)
class Parts:
    """A target made of several named measures, each with its own band."""

    parts: dict[str, Ratio | Level]

    kind = "parts"

    @property
    def experiments(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e for m in self.parts.values() for e in m.experiments))

    def __call__(self, results: Mapping[str, Any]) -> dict[str, float]:
        return {name: measure(results) for name, measure in self.parts.items()}


@dataclass(frozen=True)
class Custom:
    """A measure that is not a read-out at a time point (a peak day, a maximum over a curve)."""

    function: Callable[[Mapping[str, ExperimentResult]], float]
    experiments: tuple[str, ...]

    kind = "custom"

    def __call__(self, results: Mapping[str, ExperimentResult]) -> float:
        return self.function(results)


def _peak_proliferation_day(r: Mapping[str, ExperimentResult]) -> float:
    tc = r["influenza"].timecourse
    early = tc[tc["day"] <= EARLY_WINDOW_DAYS]
    return float(early["day"].iloc[int(np.argmax(early["proliferating_fraction"].to_numpy()))])


def _viral_load_difference(r: Mapping[str, ExperimentResult]) -> float:
    her2 = r["influenza"].timecourse.set_index("day")["virus_titer"]
    wild = r["wild_type_influenza"].timecourse.set_index("day")["virus_titer"]
    days = [d for d in wild.index if d <= EARLY_WINDOW_DAYS and wild[d] > VIRUS_DETECTION_LIMIT]
    if not days:
        return math.inf
    return float(max(abs(her2[d] - wild[d]) / wild[d] for d in days))


Measure = Ratio | Level | Parts | Custom
_M4 = Ratio("dcc_count", "influenza", "pbs", 15)
#: Target id -> its measure, exactly as ``targets.yaml`` words it.
MEASURES: dict[str, Measure] = {
    "M1_mock_dormant": Ratio("dcc_count", "pbs", "pbs", 28, control_day=0),
    "M2_onset_day3": Ratio("proliferating_fraction", "influenza", "pbs", 3),
    "M3_peak_proliferation_day9": Custom(_peak_proliferation_day, ("influenza",)),
    "M4_expansion_day15": _M4,
    "M5_raised_day28": Ratio("dcc_count", "influenza", "pbs", 28),
    "M6_il6_knockout": Ratio("dcc_count", "il6_ko_influenza", "il6_ko_pbs", 15),
    "M7_neutrophil_depletion": Ratio("dcc_count", "neutrophil_depleted_influenza", "pbs", 15),
    "M8_cd4_maintains": Parts({"late": Ratio("dcc_count", "anti_cd4_influenza", "igg_influenza", 28),
                               "early": Ratio("dcc_count", "anti_cd4_influenza", "igg_influenza", 9)}),
    "M9_cd4_suppresses_cd8": Ratio("cd8_t_cells_active", "anti_cd4_influenza", "igg_influenza", 15),
    "M10_phenotype_switch": Parts({"mesenchymal_influenza": Level("mesenchymal_fraction", "influenza", 9),
                                   "hybrid_influenza": Level("hybrid_fraction", "influenza", 9),
                                   "mesenchymal_il6ko": Level("mesenchymal_fraction", "il6_ko_influenza", 9)}),
    # The second part (M4 without seeding) is checked in _score_mouse_target.
    "M11_local_awakening": Custom(_viral_load_difference, ("influenza", "pbs", "wild_type_influenza")),
}
REQUIRED_EXPERIMENTS: tuple[str, ...] = tuple(sorted({e for m in MEASURES.values() for e in m.experiments}))
_READOUT_DAYS = [x.day for m in MEASURES.values() for x in (m.parts.values() if isinstance(m, Parts) else [m])
                 if isinstance(x, (Ratio, Level))]
assert max([*_READOUT_DAYS, EARLY_WINDOW_DAYS]) <= LAST_TARGET_DAY, "a target reads out after LAST_TARGET_DAY"


def _score_mouse_target(entry: dict[str, Any], results: Mapping[str, ExperimentResult]) -> TargetScore:
    measure = MEASURES[entry["id"]]
    missing = [name for name in measure.experiments if name not in results]
    common = dict(id=entry["id"], observation=entry["observation"], measure=entry["measure"],
                  band=entry["band"], band_from=entry["band_from"], source=entry["source"])
    if missing:
        return TargetScore(**common, simulated=None, passed=None, note=f"needs experiments {', '.join(missing)}")
    simulated = measure(results)
    note = ""
    parts: dict[str, bool] = {}
    if isinstance(entry["band"], dict):
        parts = {key: in_band(simulated[key], band) for key, band in entry["band"].items()}
        passed = all(parts.values())
    else:
        passed = in_band(simulated, entry["band"])
    if entry["id"] == "M11_local_awakening":
        # The target has two parts: M4 must also pass with seeding switched off.
        seeding = [n for n in ("influenza", "pbs") if results[n].experiment.mechanisms.seeding]
        m4_band = target("M4_expansion_day15")["band"]
        m4_without_seeding = not seeding and in_band(_M4(results), m4_band)
        parts = {"viral_load_difference": passed, "m4_without_seeding": m4_without_seeding}
        passed = passed and m4_without_seeding
        note = (f"max relative difference of viral load, MMTV-Her2 vs wild type, over days 0-{EARLY_WINDOW_DAYS} "
                f"with titre > {VIRUS_DETECTION_LIMIT:g}/mL; M4 without seeding = {_M4(results):.3g} "
                f"(band {m4_band})" + (f"; seeding is on in {', '.join(seeding)}" if seeding else ""))
    elif entry["id"] == "M8_cd4_maintains":
        note = ("anti-CD4 starts at 9 dpi, so the 9-dpi ratio is the pre-treatment baseline by design; "
                "the test suite also checks depletion from the day of infection")
    return TargetScore(**common, simulated=simulated, passed=passed, note=note, parts=parts)


def score(results: Mapping[str, ExperimentResult], human: Mapping[str, tuple[float, str]] | None = None
          ) -> list[TargetScore]:
    """Score every target of the shipped targets file against the given experiment results.

    ``human`` maps a human target id to (simulated value, note), computed by the analysis recipes
    on a simulated cohort (:func:`awaken.studies.ukb.human_targets`); targets it
    does not cover stay pending."""
    scores = [_score_mouse_target(t, results) for t in load_targets().get(STUDY_GROUPS[0], [])]
    for entry in load_targets().get(STUDY_GROUPS[1], []) + _cohort_entries(human):
        if human and entry["id"] in human:
            value, note = human[entry["id"]]
            scores.append(TargetScore(
                id=entry["id"], observation=entry["observation"], measure=entry["measure"],
                band=entry["band"], band_from=entry["band_from"], source=entry["source"],
                simulated=value, passed=in_band(value, entry["band"]), note=note))
            continue
        scores.append(TargetScore(
            id=entry["id"], observation=entry["observation"], measure=entry["measure"],
            band=entry["band"], band_from=entry["band_from"], source=entry["source"],
            simulated=None, passed=None,
            note="computed by the population and survival-analysis layers (not part of the lung model)"))
    return scores


#: awaken's own groups of human observations and bounds (targets.yaml): scored beside H1 and H2 when a
#: cohort measure of them is given (the human calibration's C5 and P1).
COHORT_GROUPS = ("cohort", "plausibility")


def _cohort_entries(human: Mapping[str, tuple[float, str]] | None) -> list[dict[str, Any]]:
    targets = load_targets()
    return [t for g in COHORT_GROUPS for t in targets.get(g, []) if human and t["id"] in human]


@dataclass(frozen=True)
class Scorecard:
    """Scores of the study's targets, with the mouse/human split the report and the CLI show."""

    scores: tuple[TargetScore, ...]

    def __iter__(self):
        return iter(self.scores)

    def __len__(self) -> int:
        return len(self.scores)

    def group(self, name: str) -> list[TargetScore]:
        """A group's scores; ``human`` also holds the scored targets of :data:`COHORT_GROUPS`."""
        ids = set(target_ids(name))
        if name == STUDY_GROUPS[1]:
            ids |= {i for g in COHORT_GROUPS for i in target_ids(g)}
        return [s for s in self.scores if s.id in ids]

    @property
    def mouse(self) -> list[TargetScore]:
        return self.group("mouse")

    @property
    def human(self) -> list[TargetScore]:
        return self.group("human")

    def failed(self, group: str) -> list[str]:
        """Ids of a group's targets that were scored and missed."""
        return [s.id for s in self.group(group) if s.passed is False]

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per target (infinite band ends become null)."""
        from awaken.runs.files import jsonable

        return jsonable(list(self.scores))

    @classmethod
    def from_records(cls, rows: list[dict[str, Any]]) -> Scorecard:
        return cls(tuple(TargetScore(**row) for row in rows))
