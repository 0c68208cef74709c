"""Forms made from the scenario schemas: one widget per field, labelled with its unit and range.

The pydantic schemas (:data:`awaken.api.settings.SCHEMAS`, the cohort's scenario) are the one place
where a field's description, range and unit live; :class:`SchemaForm` walks a schema and makes the
widget each field calls for: a choice for a ``Literal``, several choices for a list of them, a
switch for a flag, a number box for a number, a text box of comma-separated numbers or names for a
sequence of them, a fieldset for a nested model, a few slots for a list of models, one box per key
for a mapping of numbers. Whatever has no widget of its own (a list of treatments of several kinds,
a free mapping) is a YAML box holding that field as a scenario file writes it, so every field can be
edited. The form gives back plain data and :func:`check` validates it with
:func:`awaken.schemas.validate`, so a bad value is refused with the same field-named message the
command line and the Python API give (``mice = 0: must be >= 1 and <= 1000 mice``); text that is not
YAML is refused naming its field before that.

Example
-------
>>> from awaken.api.settings import SCHEMAS
>>> form = SchemaForm(SCHEMAS["experiment"], skip=("parameters",))
>>> form.load(SCHEMAS["experiment"](name="x", mice=2).model_dump(mode="json"))
>>> form.data()["mice"], form.widgets[("mice",)].label
(2, 'mice (1-1000) [mice]')
"""

from __future__ import annotations

import datetime as dt
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import panel as pn
import yaml
from pydantic import BaseModel

from awaken.documents import parse_yaml_text
from awaken.errors import InputError
from awaken.schemas import describe_field, validate

__all__ = ["SchemaForm", "check", "error_lines", "parse_yaml"]

Path = tuple[Any, ...]


def _strip(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``Annotated`` and ``| None``; whether None is allowed."""
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(get_args(annotation))
            annotation = args[0] if len(args) == 1 else annotation
            if len(args) != 1:
                return annotation, optional
        else:
            return annotation, optional


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _range_and_unit(model: type[BaseModel], name: str) -> str:
    """' (1-1000) [mice]' from the schema's own description (what the command line's help shows)."""
    text = describe_field(model, name)
    description = model.model_fields[name].description or name
    return text[len(description):] if text.startswith(description) else ""


class SchemaForm:
    """Widgets for the fields of ``model`` (see the module); ``skip`` leaves fields to the caller."""

    def __init__(self, model: type[BaseModel], *, skip: tuple[str, ...] = (), list_slots: int = 3,
                 css_prefix: str = "field", as_yaml: tuple[str, ...] = ()) -> None:
        self.model = model
        self.skip = skip
        self.as_yaml = as_yaml  # top-level fields shown as a YAML box whatever their type
        self.list_slots = list_slots
        self.css_prefix = css_prefix
        self.widgets: dict[Path, Any] = {}
        self._base: dict[str, Any] = {}
        self._panel = self._fields(model, ())

    # ------------------------------------------------------------ building
    def _css(self, path: Path) -> list[str]:
        return [f"{self.css_prefix}-" + "-".join(str(p) for p in path)]

    def _fields(self, model: type[BaseModel], path: Path) -> Any:
        rows = []
        for name, info in model.model_fields.items():
            if not path and name in self.skip:
                continue
            annotation, optional = _strip(info.annotation)
            label = name + _range_and_unit(model, name)
            tip = describe_field(model, name)
            here = (*path, name)
            if not path and name in self.as_yaml:
                self.widgets[here] = self._yaml_box(label, tip, here, info)
                rows.append(self.widgets[here])
            elif _is_model(annotation):
                inner = self._fields(annotation, here)
                if optional:
                    switch = pn.widgets.Checkbox(label=f"{name}: {info.description or ''}".strip(": "),
                                                 css_classes=self._css((*here, "present")))
                    self.widgets[(*here, "__present__")] = switch
                    rows.append(pn.Column(switch, inner, styles={"border-left": "2px solid #ddd", "padding-left": "8px"}))
                else:
                    rows.append(pn.Column(pn.pane.Markdown(f"**{name}** {info.description or ''}", margin=(0, 5)), inner,
                                          styles={"border-left": "2px solid #ddd", "padding-left": "8px"}))
            elif get_origin(annotation) is list and _is_model(_strip(get_args(annotation)[0])[0]):
                item = _strip(get_args(annotation)[0])[0]
                slots = []
                for i in range(self.list_slots):
                    slot = (*here, i)
                    use = pn.widgets.Checkbox(label=f"{name} {i + 1}", css_classes=self._css((*slot, "present")))
                    self.widgets[(*slot, "__present__")] = use
                    slots.append(pn.Row(use, self._fields(item, slot)))
                rows.append(pn.Column(pn.pane.Markdown(f"**{name}** (up to {self.list_slots})", margin=(0, 5)), *slots))
            elif get_origin(annotation) is dict:
                self.widgets[(*here, "__dict__")] = pn.Column(pn.pane.Markdown(f"**{name}** {tip}", margin=(0, 5)))
                rows.append(self.widgets[(*here, "__dict__")])
            else:
                widget = self._widget(annotation, label, tip, here)
                if widget is None:
                    widget = self._yaml_box(label, tip, here, info)
                widget.optional = optional  # an emptied optional list is None (the schema's default)
                self.widgets[here] = widget
                rows.append(widget)
        return pn.Column(*rows, sizing_mode="stretch_width")

    def _widget(self, annotation: Any, label: str, tip: str, path: Path) -> Any:
        css = self._css(path)
        if get_origin(annotation) is Literal:
            options = [str(a) for a in get_args(annotation)]
            return pn.widgets.Select(label=label, options=options, description=tip, css_classes=css)
        if annotation is bool:
            return pn.widgets.Checkbox(label=f"{path[-1]}: {tip}", css_classes=css)
        if annotation is int:
            return pn.widgets.IntInput(label=label, description=tip, css_classes=css)
        if annotation is float:
            return pn.widgets.FloatInput(label=label, description=tip, css_classes=css)
        if annotation in (str, dt.date):
            return pn.widgets.TextInput(label=label, description=tip, css_classes=css)
        if get_origin(annotation) in (tuple, list):
            item = _strip(get_args(annotation)[0])[0]
            if item in (int, float):
                widget = pn.widgets.TextInput(label=f"{label} (comma-separated)", description=tip, css_classes=css)
                widget.numbers = True  # read back as a list of numbers
                return widget
            if get_origin(item) is Literal:
                return pn.widgets.MultiChoice(label=label, options=[str(a) for a in get_args(item)], description=tip,
                                              css_classes=css)
            if item is str:
                widget = pn.widgets.TextInput(label=f"{label} (comma-separated names)", description=tip,
                                              css_classes=css)
                widget.names = True  # read back as a list of names
                return widget
        return None

    def _yaml_box(self, label: str, tip: str, path: Path, info: Any) -> Any:
        widget = pn.widgets.TextAreaInput(label=f"{label} (YAML, as in a scenario file; empty: the default)",
                                          description=tip, css_classes=self._css(path), height=120,
                                          sizing_mode="stretch_width")
        widget.yaml = True  # read back by parsing it
        widget.default = None if info.is_required() else info.get_default(call_default_factory=True)
        return widget

    # ------------------------------------------------------------ values
    def load(self, values: dict[str, Any]) -> None:
        """Show ``values`` (a scenario as ``model_dump(mode="json")``)."""
        self._base = values
        for path, widget in self.widgets.items():
            if path[-1] == "__present__":
                widget.value = _get(values, path[:-1]) is not None
            elif path[-1] == "__dict__":
                mapping = _get(values, path[:-1]) or {}
                widget.objects = [widget.objects[0], *[
                    pn.widgets.FloatInput(label=f"{path[-2]}.{key}", value=float(value),
                                          css_classes=self._css((*path[:-1], key))) for key, value in mapping.items()]]
            else:
                value = _get(values, path)
                if isinstance(widget, pn.widgets.Checkbox):
                    widget.value = bool(value)
                elif getattr(widget, "numbers", False):
                    widget.value = ", ".join(f"{v:g}" for v in value or ())
                elif getattr(widget, "names", False):
                    widget.value = ", ".join(str(v) for v in value or ())
                elif getattr(widget, "yaml", False):
                    widget.value = "" if value is None else yaml.safe_dump(value, sort_keys=False, allow_unicode=True)
                elif isinstance(widget, pn.widgets.MultiChoice):
                    widget.value = [str(v) for v in value or ()]
                elif isinstance(widget, pn.widgets.TextInput):
                    widget.value = "" if value is None else str(value)
                elif isinstance(widget, pn.widgets.Select):
                    widget.value = str(value) if value is not None else widget.options[0]
                else:
                    widget.value = value

    def data(self) -> dict[str, Any]:
        """The form's content as plain data (the fields it does not show keep their loaded values)."""
        out = _copy(self._base)
        absent = []
        for path, widget in self.widgets.items():
            if path[-1] == "__present__":
                if not widget.value:
                    absent.append(path[:-1])
            elif path[-1] == "__dict__":
                _set(out, path[:-1], {w.label.split(".", 1)[1]: w.value for w in widget[1:]})
            else:
                value = widget.value
                field = ".".join(str(p) for p in path)
                if getattr(widget, "numbers", False):
                    value = _numbers(value, field)
                elif getattr(widget, "names", False):
                    value = [name.strip() for name in value.split(",") if name.strip()]
                elif getattr(widget, "yaml", False):
                    value = parse_yaml(value, field)
                    if value is None:  # an emptied box: the field's default (no treatments, no overrides)
                        value = _copy(widget.default)
                elif isinstance(widget, pn.widgets.MultiChoice):
                    value = list(value)
                elif isinstance(widget, pn.widgets.TextInput) and value == "":
                    value = None
                if value == [] and getattr(widget, "optional", False):
                    value = None
                _set(out, path, value)
        for path in sorted(absent, key=lambda p: [str(x) for x in p], reverse=True):
            _delete(out, path)
        return out

    @property
    def panel(self) -> Any:
        return self._panel


def _numbers(text: str, field: str) -> list[float]:
    """Comma-separated numbers, as the command line reads them (``--output-days 0,15,28``)."""
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError.field(field, "give comma-separated numbers, e.g. 0,15,28", text) from None


def parse_yaml(text: str, field: str) -> Any:
    """A YAML box's content (empty: None), read as a scenario file is (:func:`awaken.documents.parse_yaml_text`:
    duplicate keys and ambiguous numbers refused, ``1e1`` a number); a problem is refused naming ``field``."""
    if not text or not text.strip():
        return None
    return parse_yaml_text(text, field)


def _get(data: Any, path: Path) -> Any:
    for part in path:
        if isinstance(part, int):
            if not isinstance(data, list) or part >= len(data):
                return None
            data = data[part]
        else:
            if not isinstance(data, dict) or part not in data:
                return None
            data = data[part]
    return data


def _set(data: dict, path: Path, value: Any) -> None:
    current: Any = data
    for part, following in zip(path[:-1], path[1:]):
        if isinstance(part, int):
            while len(current) <= part:
                current.append({})
            if current[part] is None:
                current[part] = {}
            current = current[part]
        else:
            if current.get(part) is None:
                current[part] = [] if isinstance(following, int) else {}
            current = current[part]
    last = path[-1]
    if isinstance(last, int):
        while len(current) <= last:
            current.append({})
        current[last] = value
    else:
        current[last] = value


def _delete(data: dict, path: Path) -> None:
    parent = _get(data, path[:-1]) if len(path) > 1 else data
    if isinstance(path[-1], int):
        if isinstance(parent, list) and path[-1] < len(parent):
            parent.pop(path[-1])
    elif isinstance(parent, dict):
        parent[path[-1]] = None


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def check(data: dict[str, Any], model: type[BaseModel]) -> Any:
    """Validate form data: the model, or :class:`InputError` with the schema's field-named problems."""
    return validate(data, model)


def error_lines(error: InputError) -> str:
    """An input error as Markdown lines, field names as the Python API spells them (files' keys)."""
    return "\n".join(f"- {problem.render()}" for problem in error.problems)
