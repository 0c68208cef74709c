"""Behaviour rules and the section's parameters, as data.

Two tables, read and checked here (a missing unit or source, a value outside its range, a rule
naming a parameter that does not exist are refused when the table loads):

* ``data/rules.csv`` - the behaviour rules, one row each, in PhysiCell's grammar (Getz et al.
  2021's ``cell_rules.csv``): the cell, the signal it senses, whether the signal *increases* or
  *decreases* the behaviour, the behaviour, its rate, the signal's half-maximum and Hill power,
  units and source. A rate or half-maximum written ``lung:NAME`` is the lung model's parameter of
  that name for the mouse being simulated (:mod:`awaken.lung.parameters`: value, unit, range and
  source live there once); ``param:NAME`` is one of the section's own parameters.
* ``data/parameters.yaml`` - the section's own parameters (geometry, diffusion, motility, the
  field of view): value, unit, plausible range, source or what it was calibrated to.

Example
-------
>>> rules = load_rules()
>>> rule = find_rule(rules, "dcc", "stat3_activity")
>>> rule.signal, rule.half_max, rule.hill_power
('il6', 'lung:stat3_il6_half_max', 3)
>>> section_parameters()["voxel_um"].unit
'um'
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from awaken.lung.parameters import load_parameter_table

__all__ = ["Rule", "SectionParameter", "load_rules", "find_rule", "section_parameters", "resolve"]


@dataclass(frozen=True)
class Rule:
    """One behaviour rule (a row of ``rules.csv``)."""

    cell: str
    signal: str
    direction: str
    behaviour: str
    rate: str
    rate_unit: str
    half_max: str
    signal_unit: str
    hill_power: int
    source: str


@dataclass(frozen=True)
class SectionParameter:
    """One of the section's own parameters."""

    name: str
    value: float
    unit: str
    range: tuple[float, float]
    source: str


@lru_cache(maxsize=None)
def section_parameters() -> dict[str, SectionParameter]:
    """The section's parameters (``data/parameters.yaml``), checked: unit, source, value in range."""
    rows = yaml.safe_load((resources.files("awaken.tissue") / "data" / "parameters.yaml").read_text())
    table = {}
    for row in rows:
        lo, hi = row["range"]
        if not row.get("unit") or not row.get("source"):
            raise ValueError(f"tissue parameter {row['name']}: needs a unit and a source")
        if not lo <= row["value"] <= hi:
            raise ValueError(f"tissue parameter {row['name']} = {row['value']} lies outside its range [{lo}, {hi}]")
        table[row["name"]] = SectionParameter(row["name"], float(row["value"]), row["unit"], (lo, hi), row["source"])
    return table


@lru_cache(maxsize=None)
def load_rules() -> tuple[Rule, ...]:
    """The behaviour rules (``data/rules.csv``), each checked: direction, a source, known parameters."""
    text = (resources.files("awaken.tissue") / "data" / "rules.csv").read_text()
    lung = {p.name for p in load_parameter_table("mouse").parameters("influenza_a_pr8")}
    own = set(section_parameters())
    rules = []
    for line, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        rule = Rule(**{**row, "hill_power": int(row["hill_power"])})
        if rule.direction not in ("increases", "decreases", "none"):
            raise ValueError(f"rules.csv line {line}: direction must be increases, decreases or none")
        if not rule.source:
            raise ValueError(f"rules.csv line {line}: needs a source")
        for ref in (rule.rate, rule.half_max):
            kind, _, name = ref.partition(":")
            if ref and kind == "lung" and name not in lung or kind == "param" and name not in own:
                raise ValueError(f"rules.csv line {line}: {ref} is not a parameter")
        rules.append(rule)
    return tuple(rules)


def find_rule(rules: tuple[Rule, ...], cell: str, behaviour: str, signal: str | None = None) -> Rule:
    """The rule of ``cell`` for ``behaviour`` (optionally: sensing ``signal``)."""
    found = [r for r in rules if r.cell == cell and r.behaviour == behaviour and (signal is None or r.signal == signal)]
    if len(found) != 1:
        raise KeyError(f"{len(found)} rules for {cell} / {behaviour} / {signal}")
    return found[0]


def resolve(reference: str, lung: dict[str, float]) -> float:
    """A rule's number: ``lung:NAME`` from the mouse's parameters, ``param:NAME`` from the section's,
    a literal otherwise."""
    kind, _, name = reference.partition(":")
    if kind == "lung":
        return float(lung[name])
    if kind == "param":
        return section_parameters()[name].value
    return float(reference)
