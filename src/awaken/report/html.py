"""The self-contained HTML report of a run (Jinja2; figures embedded, no external files).

Example
-------
>>> from awaken.report.html import format_value
>>> format_value(1234.5678)
'1235'
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import Markup, escape

__all__ = ["ReportFigure", "render_report", "render_template", "format_value", "format_band"]


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


def render_report(**context: Any) -> str:
    """Render ``report.html.j2`` with ``context`` (see the template for the names it uses)."""
    return render_template("report.html.j2", **context)
