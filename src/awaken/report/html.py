"""The self-contained HTML report of a run (Jinja2; figures embedded, no external files).

What a report shows is a typed :class:`Report` (its sections :class:`CohortSection` and the
calibration ensemble's :class:`~awaken.calibration.ensemble.EnsembleSummary`), rendered by
:meth:`Report.render`; the calibration report of ``awaken fit`` has its own template.

Example
-------
>>> from awaken.report.html import format_value
>>> format_value(1234.5678)
'1235'
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup, escape

if TYPE_CHECKING:  # types only: the report reads what the layers below produced
    from awaken.calibration.ensemble import EnsembleSummary
    from awaken.calibration.settings import FitSettings
    from awaken.cohort.parameters import CohortScenario
    from awaken.experiments.protocol import Experiment
    from awaken.lung.parameters import Parameter
    from awaken.scorecard import Scorecard, TargetScore
    from awaken.studies.flatiron import FlatironResult
    from awaken.studies.ukb import UKBResult

__all__ = ["ReportFigure", "Report", "CohortSection", "CalibrationReport", "render_template", "format_value",
           "format_band"]


@dataclass(frozen=True)
class ReportFigure:
    stem: str
    title: str
    caption: str
    svg: bytes

    @property
    def svg_base64(self) -> str:
        return base64.b64encode(self.svg).decode("ascii")


def format_value(value: Any) -> str:
    """Compact human formatting of numbers, dicts of numbers and missing values."""
    if value is None:
        return "–"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if float(value).is_integer() and abs(value) < 1e5:
            return f"{int(value)}"
        if 100 <= abs(value) < 1e5:
            return f"{value:.0f}"
        if 1e-3 <= abs(value) < 100:
            return f"{value:.3g}"
        return f"{value:.2e}"
    return str(value)


def format_band(band: Any) -> str:
    if isinstance(band, dict):
        return "; ".join(f"{k}: {format_band(v)}" for k, v in band.items())
    lo, hi = band  # an open end is infinite, or None once it has been through JSON
    lo = -math.inf if lo is None else lo
    hi = math.inf if hi is None else hi
    return f"[{format_value(lo)}, {format_value(hi)}]"


def _lines(value: Any, formatter: Any) -> Markup:
    """A multi-part value (dict) as one ``name: value`` line per part; anything else as one line."""
    if isinstance(value, dict):
        return Markup("<br>").join(escape(f"{k}: {formatter(v)}") for k, v in value.items())
    return escape(formatter(value))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("awaken.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["value"] = format_value
    env.filters["band"] = format_band
    env.filters["value_lines"] = lambda v: _lines(v, format_value)
    env.filters["band_lines"] = lambda v: _lines(v, format_band)
    return env


def render_template(name: str, **context: Any) -> str:
    """Render the template ``name`` of ``awaken/report/templates`` with ``context``."""
    return _environment().get_template(name).render(**context)


@dataclass(frozen=True)
class CohortSection:
    """The flagship's cohort: the same survivors with and without the pandemic, and the study's designs on them."""

    people: int
    seed: int
    scenario: CohortScenario
    arms: tuple[str, ...]
    labels: dict[str, str]
    counts: dict[str, dict[str, float]]  # arm -> row key -> count
    rows: tuple[tuple[str, str], ...]  # row key, label
    figures: list[ReportFigure]
    response: dict[str, dict[str, float]]  # pathogen -> summary of the survivors' lung read-outs
    mechanisms: dict[str, float]  # the default cohort's mechanism parameters (posterior medians)
    ukb: UKBResult
    flatiron: FlatironResult
    predictions: dict[str, tuple[float, float, float]]  # name -> (median, 5 %, 95 %) over the posterior
    excess: list[tuple[str, str, float, float, float]]  # outcome, path, median, 5 %, 95 % (pandemic - none)
    posterior_members: int
    combination: str
    posterior: list[tuple[str, float, float, float]]  # parameter (and causal share), median, 5 %, 95 %
    posterior_size: int


@dataclass(frozen=True)
class Report:
    """Everything ``report.html`` shows for a run of virtual experiments."""

    title: str
    intro: str
    provenance: dict[str, Any]
    figures: list[ReportFigure]
    experiments: list[Experiment]
    mice: int
    parameters: list[Parameter]
    parameter_label: str
    tables: list[str]
    scorecard: Scorecard | None = None
    ensemble: EnsembleSummary | None = None
    cohort: CohortSection | None = None
    engine: str = "reference"
    extra: dict[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        scores = list(self.scorecard) if self.scorecard is not None else []
        mouse = [s for s in (self.scorecard.mouse if self.scorecard else []) if s.passed is not None]
        human = [s for s in (self.scorecard.human if self.scorecard else []) if s.passed is not None]
        return render_template(
            "report.html.j2", title=self.title, intro=self.intro, prov=self.provenance, scores=scores,
            n_scored=len(mouse), n_passed=sum(bool(s.passed) for s in mouse), n_failed=sum(not s.passed for s in mouse),
            n_pending=sum(s.passed is None for s in scores), n_human=len(human),
            n_human_passed=sum(bool(s.passed) for s in human), figures=self.figures, experiments=self.experiments,
            mice=self.mice, ensemble=self.ensemble, parameters=self.parameters, parameter_virus=self.parameter_label,
            tables=self.tables, cohort=self.cohort, engine=self.engine)


@dataclass(frozen=True)
class CalibrationReport:
    """Everything the report of ``awaken fit`` shows."""

    provenance: dict[str, Any]
    settings: FitSettings
    starts: list[dict[str, Any]]  # one per start: cost, initial cost, calls, time
    scores: list[TargetScore]  # the best fit through the scorecard
    fractions: dict[str, float]  # target id -> fraction of the ensemble passing
    verdicts: list[dict[str, Any]]  # identifiability per parameter
    per_band: dict[str, float]  # cost of each band at the best fit
    figures: list[ReportFigure]
    members: int
    acceptance: float
    targets: list[dict[str, Any]]
    best: list[dict[str, Any]]  # name, fitted value, shipped value
    title: str = "awaken fit: the mouse lung model calibrated to the study's targets"

    def render(self) -> str:
        return render_template("calibration.html.j2", title=self.title, prov=self.provenance, settings=self.settings,
                               starts=self.starts, scores=self.scores, fractions=self.fractions,
                               verdicts=self.verdicts, per_band=self.per_band, figures=self.figures,
                               members=self.members, acceptance=self.acceptance, targets=self.targets, best=self.best)
