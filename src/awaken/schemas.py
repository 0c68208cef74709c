"""Reading scenario and settings files safely, and saying exactly why an input is invalid.

Every scenario and settings schema in awaken is a pydantic model that refuses unknown keys. This
module reads a YAML or TOML file, validates it against such a model and, on failure, raises
:class:`InputError`, whose problems name each bad field, the value given and what is allowed (the
range and unit come from the schema itself). The command line prints the same problems with its
flag names (``--n``) in place of field names (``n``), so the rules live once, with the schema.

Files are read defensively, before any of their content is trusted:

* at most :data:`MAX_FILE_BYTES`; UTF-8 only; unreadable files are named, not raised;
* YAML is pre-scanned (iteratively, so no recursion limit can be hit) and refused if it nests
  deeper than :data:`MAX_DEPTH` or expands, through aliases, to more than :data:`MAX_NODES`
  values - a few hundred bytes of nested aliases otherwise expand to billions;
* duplicate keys are refused (YAML would silently keep the last one; TOML already refuses them);
* numbers must be plain decimals: YAML 1.1 reads ``010`` as octal 8 and ``1:20`` as 80, so those
  forms are refused, while ``1e5`` and ``1.5e-3`` (YAML 1.2) are read as floats.

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
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, Strict, ValidationError

__all__ = ["InputError", "Problem", "load_document", "validate", "load_model", "describe_field", "Integer",
           "Real", "Flag", "Date", "MAX_FILE_BYTES", "MAX_DEPTH", "MAX_NODES", "format_value"]

M = TypeVar("M", bound=BaseModel)

#: Largest scenario or settings file read (scenario files are a few hundred bytes).
MAX_FILE_BYTES = 1_000_000
#: Deepest nesting of mappings and lists accepted.
MAX_DEPTH = 64
#: Most values a document may hold once YAML aliases are expanded.
MAX_NODES = 100_000
#: Longest rendering of a given value inside a message.
_VALUE_CHARS = 80
_MISSING = object()


# ---------------------------------------------------------------- errors
@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: the field (dotted path; None for the input as a whole), the
    value given, what is wrong, and optionally the field whose use would allow it (``remedy``)."""

    field: str | None
    message: str
    value: Any = _MISSING
    remedy: str | None = None

    def render(self, flags: Mapping[str, str] | None = None) -> str:
        label = (flags or {}).get(self.field, self.field) if self.field else None
        text = self.message
        if self.remedy:
            flag = (flags or {}).get(self.remedy)
            text += f" or pass {flag}" if flag else f" or pass {self.remedy}=True"
        if label is None:
            return text
        if self.value is _MISSING:
            return f"{label}: {text}"
        return f"{label} = {format_value(self.value)}: {text}"


class InputError(ValueError):
    """An input file, option or argument is invalid; ``problems`` say which field and why.

    ``str(error)`` names fields as the Python API spells them; :meth:`render` with a mapping from
    field names to command-line flags gives the command line's wording.
    """

    def __init__(self, problems: str | Problem | Sequence[Problem], source: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        super().__init__(self.render())

    @classmethod
    def field(cls, field: str, message: str, value: Any = _MISSING, remedy: str | None = None) -> InputError:
        """An error about one field: ``InputError.field("n", "must be >= 1", 0)``."""
        return cls(Problem(field, message, value, remedy))

    def render(self, flags: Mapping[str, str] | None = None) -> str:
        lines = [p.render(flags) for p in self.problems]
        if self.source is not None:
            return f"{self.source} is not valid:\n" + "\n".join(f"  - {line}" for line in lines)
        if len(lines) == 1:
            return lines[0]
        return "invalid input:\n" + "\n".join(f"  - {line}" for line in lines)

    def __str__(self) -> str:
        return self.render()


def format_value(value: Any) -> str:
    """A given value as a message shows it: JSON-like, at most a line long."""
    if isinstance(value, Path):
        text = str(value)
    else:
        try:
            text = json.dumps(value, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"


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


# ---------------------------------------------------------------- reading files
class _Loader(yaml.SafeLoader):
    """YAML 1.1 safe loading with duplicate keys and ambiguous numbers refused, YAML 1.2 floats read."""


# Copy the resolver lists before adding to them: PyYAML shares them with SafeLoader otherwise.
_Loader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = str(node.value).replace("_", "")
    digits = text.lstrip("+-")
    if not digits.isdigit() or (len(digits) > 1 and digits.startswith("0")):
        raise yaml.constructor.ConstructorError(
            None, None, f"ambiguous number {node.value!r} (YAML reads it as octal, hexadecimal or base 60); "
                        f"write a plain decimal number", node.start_mark)
    return int(text)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (str, int, float, bool)) and key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                f"duplicate key {key!r} (first on line {seen[key].line + 1})", key_node.start_mark)
        if isinstance(key, (str, int, float, bool)):
            seen[key] = key_node.start_mark
    loader.flatten_mapping(node)
    return {loader.construct_object(k, deep=True): loader.construct_object(v, deep=True) for k, v in node.value}


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def _check_yaml_size(text: str, where: str) -> None:
    """Refuse YAML that nests too deep or expands (through aliases) to too many values.

    Walks the event stream iteratively: each collection's expanded size is known when it ends, and
    an alias adds the expanded size of what it names."""
    anchors: dict[str, int] = {}
    stack: list[list[Any]] = []  # [anchor, expanded size so far]
    total = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                stack.append([event.anchor, 1])
                if len(stack) > MAX_DEPTH:
                    raise InputError(f"{where}: nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                anchor, size = stack.pop()
                if anchor is not None:
                    anchors[anchor] = size
                if stack:
                    stack[-1][1] += size
                else:
                    total += size
            elif isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
                size = anchors.get(event.anchor, 1) if isinstance(event, yaml.AliasEvent) else 1
                if isinstance(event, yaml.ScalarEvent) and event.anchor is not None:
                    anchors[event.anchor] = 1
                if stack:
                    stack[-1][1] += size
                else:
                    total += size
            if total + sum(s for _, s in stack) > MAX_NODES:
                raise InputError(f"{where}: expands to more than {MAX_NODES:,} values (YAML aliases?); "
                                 f"scenario files are small")
    except yaml.YAMLError as err:
        raise InputError(f"{where}: cannot parse: {_short(err)}") from None


def _check_nesting(data: Any, where: str) -> None:
    """Depth and size of parsed data (TOML), checked without recursion."""
    stack = [(data, 1)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise InputError(f"{where}: nested more than {MAX_DEPTH} levels deep")
        if count > MAX_NODES:
            raise InputError(f"{where}: holds more than {MAX_NODES:,} values; scenario files are small")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def _short(err: Exception) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= 300 else text[:299] + "…"


def load_document(path: str | Path) -> dict[str, Any]:
    """Parse a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file into a mapping, defensively."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".toml"):
        raise InputError(f"{path}: unknown file format {suffix!r} (use .yaml, .yml or .toml)")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a file")
    if not path.exists():
        raise InputError(f"{path}: no such file")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(f"{path}: {size:,} bytes; scenario files are at most {MAX_FILE_BYTES:,} bytes")
        raw = path.read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot read it ({err.strerror or err})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not UTF-8 text (byte {raw[err.start]:#04x} at position {err.start})") from None
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
            _check_nesting(data, str(path))
        else:
            _check_yaml_size(text, str(path))
            data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as err:
        raise InputError(f"{path}: cannot parse: {_short(err)}") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply to read") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: must be a mapping of keys to values, not {type(data).__name__}")
    return data


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
        raise InputError([_problem(e, model) for e in err.errors()], source=source) from None


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
    unit = _unit(info)
    if unit:
        text += f" [{unit}]"
    return text
