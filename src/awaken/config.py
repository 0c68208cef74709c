"""Reading scenario files (YAML or TOML) and explaining why one is invalid.

Every scenario schema in awaken is a pydantic model that refuses unknown keys. This module loads a
file, validates it and, on failure, raises :class:`ConfigError` whose message names each bad field,
the value given and what is allowed (the range and unit come from the schema itself), so that the
CLI can print it and exit with status 2 before any work starts.

Example
-------
>>> from pydantic import BaseModel, Field
>>> class Run(BaseModel):
...     days: int = Field(365, ge=1, le=3650, json_schema_extra={"unit": "d"})
>>> try:
...     validate_document({"days": 0}, Run, source="example")
... except ConfigError as err:
...     print(err)
example is not a valid scenario:
  - days = 0: must be >= 1 and <= 3650 d
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

__all__ = ["ConfigError", "load_document", "validate_document", "load_model"]

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """An input file or value is invalid; the message is written for the user."""


def load_document(path: str | Path) -> dict[str, Any]:
    """Parse a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file into a mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    try:
        if suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif suffix == ".toml":
            data = tomllib.loads(text)
        else:
            raise ConfigError(f"{path}: unknown scenario format {suffix!r} (use .yaml, .yml or .toml)")
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: cannot parse: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a scenario must be a mapping of keys to values, not {type(data).__name__}")
    return data


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
        annotation = info.annotation
        current = _first_model(annotation)
    return info


def _first_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def _allowed(info: Any) -> str:
    """'must be >= a and <= b unit' from a field's constraints."""
    if info is None:
        return ""
    bounds = []
    for meta in info.metadata:
        for attr, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            value = getattr(meta, attr, None)
            if value is not None:
                bounds.append(f"{word} {value:g}" if isinstance(value, (int, float)) else f"{word} {value}")
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    unit = extra.get("unit", "")
    if not bounds:
        return ""
    return "must be " + " and ".join(bounds) + (f" {unit}" if unit else "")


def _describe(error: dict[str, Any], model: type[BaseModel]) -> str:
    loc = tuple(error["loc"])
    field = ".".join(str(p) for p in loc) or "(top level)"
    given = error.get("input")
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{field}: unknown key (not part of the schema; check the spelling)"
    if kind == "missing":
        return f"{field}: required but missing"
    value = json.dumps(given, default=str) if not isinstance(given, dict) else "{...}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        allowed = _allowed(_field_info(model, loc)) or error["msg"]
        return f"{field} = {value}: {allowed}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{field} = {value}: not allowed; choose one of {expected}"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if isinstance(given, dict):
        # A rule across several fields (a model validator): its message names the fields itself.
        return f"{field}: {message}" if loc else message
    allowed = _allowed(_field_info(model, loc))
    return f"{field} = {value}: {message}" + (f" ({allowed})" if allowed else "")


def validate_document(data: dict[str, Any], model: type[M], source: str) -> M:
    """Validate ``data`` against ``model``; raise :class:`ConfigError` listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        lines = [f"  - {_describe(e, model)}" for e in err.errors()]
        raise ConfigError(f"{source} is not a valid scenario:\n" + "\n".join(lines)) from None


def load_model(path: str | Path, model: type[M]) -> M:
    """Load and validate a scenario file."""
    return validate_document(load_document(path), model, source=str(path))
