"""The unit strings of awaken's parameter and state tables, parsed into SBML base units.

Units are written for people in the tables (``pg/mL/cell/d``, ``1/(cell d)``, ``cell per
infectious unit``); this module turns each into a product of SBML base units with exponents, scales
and multipliers, so that the SBML export declares them. Only the base units awaken uses are known;
anything else is refused with the offending string, so a new unit cannot slip into an export
undeclared.

Example
-------
>>> parse_unit("pg/mL/cell/d")["gram"]
(1, -12, 1.0)
>>> sorted(parse_unit("1/(cell d)"))
['item', 'second']
"""

from __future__ import annotations

import re

__all__ = ["BASE_UNITS", "parse_unit", "sbml_unit_id", "UnitError"]

#: name -> (SBML unit kind, scale (power of ten), multiplier). One day is 86400 s.
BASE_UNITS: dict[str, tuple[str, int, float]] = {
    "d": ("second", 0, 86400.0),
    "cell": ("item", 0, 1.0),
    "infectious unit": ("item", 0, 1.0),  # TCID50 or PFU: a count of infectious doses
    "pg": ("gram", -12, 1.0),
    "mL": ("litre", -3, 1.0),
}


class UnitError(ValueError):
    """A unit string awaken cannot express in SBML base units."""


def _tokens(text: str) -> list[str]:
    text = text.replace(" per ", " / ")
    pattern = r"infectious unit|[A-Za-z]+|1|/|\(|\)"
    tokens = re.findall(pattern, text)
    if re.sub(r"\s+", "", "".join(tokens)) != re.sub(r"\s+", "", text):
        raise UnitError(f"unit {text!r}: cannot be parsed")
    return tokens


def parse_unit(text: str) -> dict[str, tuple[int, int, float]]:
    """SBML kind -> (exponent, scale, multiplier) for a unit string; ``{}`` means dimensionless."""
    if text.strip() == "dimensionless":
        return {}
    tokens = _tokens(text)
    position = 0

    def factor() -> dict[str, int]:
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "(":
            inner = expression()
            if position >= len(tokens) or tokens[position] != ")":
                raise UnitError(f"unit {text!r}: unbalanced parenthesis")
            position += 1
            return inner
        if token == "1":
            return {}
        if token not in BASE_UNITS:
            raise UnitError(f"unit {text!r}: unknown base unit {token!r}; known: {', '.join(BASE_UNITS)}")
        return {token: 1}

    def term() -> dict[str, int]:
        result = factor()
        while position < len(tokens) and tokens[position] not in ("/", ")"):
            result = _combine(result, factor(), 1)
        return result

    def expression() -> dict[str, int]:
        nonlocal position
        result = term()
        while position < len(tokens) and tokens[position] == "/":
            position += 1
            result = _combine(result, term(), -1)
        return result

    exponents = expression()
    if position != len(tokens):
        raise UnitError(f"unit {text!r}: unexpected {tokens[position]!r}")
    kinds: dict[str, tuple[int, int, float]] = {}
    for base, exponent in exponents.items():
        if exponent == 0:
            continue
        kind, scale, multiplier = BASE_UNITS[base]
        if kind in kinds:  # cell and infectious unit are both items
            old_exponent, old_scale, old_multiplier = kinds[kind]
            exponent += old_exponent
            if exponent == 0:
                del kinds[kind]
                continue
        kinds[kind] = (exponent, scale, multiplier)
    return kinds


def _combine(a: dict[str, int], b: dict[str, int], sign: int) -> dict[str, int]:
    out = dict(a)
    for name, exponent in b.items():
        out[name] = out.get(name, 0) + sign * exponent
    return out


def sbml_unit_id(text: str) -> str:
    """A valid SBML SId naming the unit string (``pg/mL/cell/d`` -> ``u_pg_per_mL_per_cell_per_d``)."""
    if text.strip() == "dimensionless":
        return "dimensionless"
    slug = text.replace(" per ", "_per_").replace("/", "_per_").replace("(", "").replace(")", "")
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", slug).strip("_")
    return "u_" + slug
