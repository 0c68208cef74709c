"""Validating inputs against their schemas, and saying exactly why an input is invalid.

Every scenario and settings schema in awaken is a pydantic model that refuses unknown keys.
:func:`validate` checks data against one and, on failure, raises
:class:`~awaken.errors.InputError` whose problems name each bad field, the value given and what is
allowed (the range and unit come from the schema itself); :func:`load_model` reads a file first
(:mod:`awaken.documents`). The command line prints the same problems with its flag names
(``--n``) in place of field names (``n``), and builds its help from :func:`describe_field`, so the
rules live once, with the schema.

Schemas use :data:`Integer`, :data:`Real`, :data:`Flag` and :data:`Date` for their fields, which
do not coerce: ``mice: true``, ``dose: "75"`` or a Unix timestamp as a date are refused.

Example
-------
>>> from pydantic import BaseModel, Field
>>> class Run(BaseModel):
...     days: Integer = Field(365, ge=1, le=3650, json_schema_extra={"unit": "d"})
>>> try:
...     validate({"days": 0}, Run, source="example")
... except InputError as err:
...     error = err
>>> print(error)
example is not valid:
  - days = 0: must be >= 1 and <= 3650 d
>>> print(error.render({"days": "--days"}))
example is not valid:
  - --days = 0: must be >= 1 and <= 3650 d
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, Strict, ValidationError

from awaken.documents import load_document
from awaken.errors import MISSING, InputError, Problem

__all__ = ["validate", "load_model", "describe_field", "Integer", "Real", "Flag", "Date"]

M = TypeVar("M", bound=BaseModel)
#: Most problems listed in one message (the rest are counted).
_MAX_PROBLEMS = 20
_MISSING = MISSING


# ---------------------------------------------------------------- strict field types
def _iso_date(value: Any) -> Any:
    """Dates as ``date`` objects or ISO strings (YYYY-MM-DD); never numbers or date-times."""
    if isinstance(value, dt.datetime):
        raise ValueError("give a date (YYYY-MM-DD), not a date and time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as err:
            raise ValueError(f"not a calendar date ({err})") from None
    raise ValueError("give a date as YYYY-MM-DD")


#: A whole number: refuses ``true``, ``2.0`` and ``"3"``.
Integer = Annotated[int, Strict()]
#: A real number: accepts integers, refuses ``true`` and ``"75"``.
Real = Annotated[float, Strict()]
#: ``true`` or ``false``: refuses ``1`` and ``"yes"``.
Flag = Annotated[bool, Strict()]
#: A calendar date: a YAML/TOML date or ``"YYYY-MM-DD"``; refuses timestamps and date-times.
Date = Annotated[dt.date, BeforeValidator(_iso_date)]



# ---------------------------------------------------------------- validation
def _field_info(model: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    """The pydantic FieldInfo at ``loc`` (following nested models and lists), or None."""
    current: Any = model
    info = None
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            return info if part == loc[-1] else None
        info = fields[part]
        current = _first_model(info.annotation)
    return info


def _first_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def _bounds(info: Any) -> list[tuple[str, Any]]:
    out = []
    for meta in getattr(info, "metadata", ()):
        for attr, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            value = getattr(meta, attr, None)
            if value is not None:
                out.append((word, value))
    return out


def _unit(info: Any) -> str:
    extra = getattr(info, "json_schema_extra", None)
    return extra.get("unit", "") if isinstance(extra, dict) else ""


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _allowed(info: Any) -> str:
    """'must be >= a and <= b unit' from a field's constraints."""
    bounds = _bounds(info)
    if not bounds:
        return ""
    unit = _unit(info)
    text = " and ".join(f"{word} {_number(value)}" for word, value in bounds)
    return f"must be {text}" + (f" {unit}" if unit else "")


def _problem(error: dict[str, Any], model: type[BaseModel]) -> Problem:
    loc = tuple(error["loc"])
    field = ".".join(str(p) for p in loc) or None
    given = error.get("input", _MISSING)
    kind = error["type"]
    if kind == "extra_forbid" or kind == "extra_forbidden":
        return Problem(field, "unknown key (not part of the schema; check the spelling)")
    if kind == "missing":
        return Problem(field, "required but missing")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return Problem(field, _allowed(_field_info(model, loc)) or error["msg"], given)
    if kind == "literal_error":
        return Problem(field, f"not allowed; choose one of {error.get('ctx', {}).get('expected', '')}", given)
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if isinstance(given, dict):
        # A rule across several fields (a model validator): its message names the fields itself.
        return Problem(field, message)
    allowed = _allowed(_field_info(model, loc))
    return Problem(field, message + (f" ({allowed})" if allowed else ""), given)


def validate(data: Mapping[str, Any], model: type[M], source: str | None = None) -> M:
    """Validate ``data`` against ``model``; raise :class:`InputError` listing every problem.

    ``source`` names a file the data came from (its problems are then listed under it)."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as err:
        problems = [_problem(e, model) for e in err.errors()]
        if len(problems) > _MAX_PROBLEMS:
            problems = problems[:_MAX_PROBLEMS] + [Problem(None, f"and {len(problems) - _MAX_PROBLEMS} more problems")]
        raise InputError(problems, source=source) from None


def load_model(path: str | Path, model: type[M]) -> M:
    """Load and validate a scenario or settings file."""
    return validate(load_document(path), model, source=str(path))


def describe_field(model: type[BaseModel], name: str) -> str:
    """A field's description with its allowed range and unit, for help texts: the schema is the
    one place where both live.

    >>> from pydantic import BaseModel, Field
    >>> class Run(BaseModel):
    ...     days: Integer = Field(365, ge=1, le=3650, description="length of the run", json_schema_extra={"unit": "d"})
    >>> describe_field(Run, "days")
    'length of the run (1-3650) [d]'
    """
    info = model.model_fields[name]
    text = info.description or name
    bounds = dict(_bounds(info))
    lo = bounds.get(">=", bounds.get(">"))
    hi = bounds.get("<=", bounds.get("<"))
    if lo is not None and hi is not None:
        text += f" ({_number(lo)}-{_number(hi)})"
    elif lo is not None:
        text += f" ({'>=' if '>=' in bounds else '>'} {_number(lo)})"
    choices = get_args(info.annotation) if get_origin(info.annotation) is Literal else ()
    if choices:
        text += f" (one of {', '.join(map(str, choices))})"
    unit = _unit(info)
    if unit:
        text += f" [{unit}]"
    return text
