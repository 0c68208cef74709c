"""Reading scenario and settings files (YAML or TOML) defensively, before any of their content is trusted.

* at most :data:`MAX_FILE_BYTES`; UTF-8 only; unreadable files are named, not raised;
* YAML is pre-scanned (iteratively, so no recursion limit can be hit) and refused if it nests
  deeper than :data:`MAX_DEPTH` or expands, through aliases, to more than :data:`MAX_NODES`
  values - a few hundred bytes of nested aliases otherwise expand to billions;
* duplicate keys are refused (YAML would silently keep the last one; TOML already refuses them);
* numbers must be plain decimals: YAML 1.1 reads ``010`` as octal 8 and ``1:20`` as 80, so those
  forms are refused, while ``1e5`` and ``1.5e-3`` (YAML 1.2) are read as floats.

Example
-------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = pathlib.Path(tmp) / "s.yaml"
...     _ = path.write_text("name: x\\ndose: 1e5\\n")
...     load_document(path)
{'name': 'x', 'dose': 100000.0}
"""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path
from typing import Any

import yaml

from awaken.errors import InputError

__all__ = ["load_document", "parse_yaml_text", "MAX_FILE_BYTES", "MAX_DEPTH", "MAX_NODES"]

#: Largest scenario or settings file read (scenario files are a few hundred bytes).
MAX_FILE_BYTES = 1_000_000
#: Deepest nesting of mappings and lists accepted.
MAX_DEPTH = 64
#: Most values a document may hold once YAML aliases are expanded.
MAX_NODES = 100_000


class _Loader(yaml.SafeLoader):
    """YAML 1.1 safe loading with duplicate keys and ambiguous numbers refused, YAML 1.2 floats read."""


# Copy the resolver lists before adding to them: PyYAML shares them with SafeLoader otherwise.
_Loader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


#: Longest number (in characters) a file may write.
MAX_NUMBER_CHARS = 40


def _ambiguous(node: yaml.ScalarNode) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(
        None, None, f"ambiguous number {node.value!r} (YAML reads it as octal, hexadecimal or base 60); "
                    f"write a plain decimal number", node.start_mark)


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = str(node.value).replace("_", "")
    digits = text.lstrip("+-")
    if not digits.isdigit() or (len(digits) > 1 and digits.startswith("0")):
        raise _ambiguous(node)
    if len(digits) > MAX_NUMBER_CHARS:
        raise yaml.constructor.ConstructorError(None, None, f"a number of {len(digits)} digits is not a setting",
                                                node.start_mark)
    return int(text)


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    if ":" in str(node.value):
        raise _ambiguous(node)
    if len(str(node.value)) > MAX_NUMBER_CHARS:
        raise yaml.constructor.ConstructorError(None, None, "a number this long is not a setting", node.start_mark)
    return loader.construct_yaml_float(node)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, "a key must be a plain name, not a list or a mapping",
                key_node.start_mark)
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
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
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
    mark = getattr(err, "problem_mark", None)
    if isinstance(err, yaml.MarkedYAMLError) and mark is not None and err.problem:
        return f"line {mark.line + 1}, column {mark.column + 1}: {' '.join(err.problem.split())}"
    text = " ".join(str(err).split())
    return text if len(text) <= 300 else text[:299] + "…"


def parse_yaml_text(text: str, where: str) -> Any:
    """YAML text (a file's content, a form's box) parsed as :func:`load_document` reads a file: size,
    nesting and alias expansion checked first, duplicate keys and ambiguous numbers refused; any
    problem is an :class:`InputError` opening with ``where``."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise InputError(f"{where}: more than {MAX_FILE_BYTES:,} bytes; scenario files are small")
    try:
        _check_yaml_size(text, where)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except (yaml.YAMLError, ValueError, TypeError) as err:
        raise InputError(f"{where}: cannot parse: {_short(err)}") from None
    except RecursionError:
        raise InputError(f"{where}: nested too deeply to read") from None


def load_document(path: str | Path) -> dict[str, Any]:
    """Parse a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file into a mapping, defensively."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".toml"):
        raise InputError(f"{path}: unknown file format {suffix!r} (use .yaml, .yml or .toml)")
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read it ({err.strerror or err})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: not a regular file (a pipe, a device or a socket)")
    if info.st_size > MAX_FILE_BYTES:
        raise InputError(f"{path}: {info.st_size:,} bytes; scenario files are at most {MAX_FILE_BYTES:,} bytes")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise InputError(f"{path}: cannot read it ({err.strerror or err})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"{path}: more than {MAX_FILE_BYTES:,} bytes; scenario files are small")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not UTF-8 text (byte {raw[err.start]:#04x} at position {err.start})") from None
    if suffix == ".toml":
        try:
            data = tomllib.loads(text)
            _check_nesting(data, str(path))
        except (tomllib.TOMLDecodeError, ValueError, TypeError) as err:
            raise InputError(f"{path}: cannot parse: {_short(err)}") from None
        except RecursionError:
            raise InputError(f"{path}: nested too deeply to read") from None
    else:
        data = parse_yaml_text(text, str(path))
    if not isinstance(data, dict):
        raise InputError(f"{path}: must be a mapping of keys to values, not {type(data).__name__}")
    return data
