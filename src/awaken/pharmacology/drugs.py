"""The drug table: PK and PD of every drug awaken can give, each number with unit, range and source.

The table (``awaken/pharmacology/data/drugs.yaml``) is read once and checked like the lung model's
parameter tables (:class:`awaken.lung.parameters.Parameter`: unknown keys refused, every value inside
its plausible range). A drug acts on one target, a control of the lung model; the IL-6 pathway's
consequences beyond the DCCs (receptor-mediated IL-6 clearance lost, fewer neutrophils, slower
virus-specific CD8 expansion) are class effects shared by every drug that blocks the pathway.

Example
-------
>>> from awaken.pharmacology.drugs import load_drug_table
>>> drug = load_drug_table().drug("tocilizumab")
>>> drug.target, drug.value("clearance")
('il6r_blockade', 0.3)
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from awaken.lung.parameters import Parameter

__all__ = ["Course", "Drug", "DrugTable", "load_drug_table", "PK_PARAMETERS", "PD_PARAMETERS", "DOSE_EFFECT_PARAMETERS",
           "TARGETS", "ROUTES"]

#: What each drug model needs (the loader refuses a drug that lacks one).
PK_PARAMETERS = ("clearance", "central_volume", "peripheral_volume", "intercompartmental_clearance",
                 "max_elimination", "michaelis_constant", "absorption_rate", "bioavailability")
PD_PARAMETERS = ("ec50", "max_effect", "hill")
DOSE_EFFECT_PARAMETERS = ("max_log10_reduction", "ed50")
#: The lung-model controls a drug can target (the others follow from these: see class_effects).
TARGETS = ("il6r_blockade", "il6_neutralisation", "jak_inhibition", "antiviral_efficacy")
ROUTES = ("iv", "sc", "ip", "oral")
CLASS_EFFECTS = ("il6_receptor_clearance_share", "il6_blockade_neutrophil_reduction", "il6_blockade_cd8_penalty")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Course(_Strict):
    """A course of a drug: ``doses`` doses of ``dose`` (the drug's ``dose_unit``) every ``interval_days``."""

    dose: float = Field(gt=0)
    route: Literal[ROUTES]  # type: ignore[valid-type]
    doses: int = Field(1, ge=1, le=400)
    interval_days: float = Field(1.0, gt=0, le=365)


class Drug(_Strict):
    name: str = ""
    label: str
    species: Literal["mouse", "human"]
    target: Literal[TARGETS]  # type: ignore[valid-type]
    dose_unit: Literal["mg", "mg/kg"]
    routes: list[Literal[ROUTES]]  # type: ignore[valid-type]
    default: Course
    #: The doses per administration the drug was given at in its sources (people, or mice for a mouse
    #: drug), in ``dose_unit``: a course outside them is refused, as its PK and PD were never seen there.
    dose_range: tuple[float, float]
    dose_range_source: str
    source: str
    pk: list[Parameter] = Field(default_factory=list)
    pd: list[Parameter] = Field(default_factory=list)
    dose_effect: list[Parameter] = Field(default_factory=list)
    human_equivalent_factor: float | None = Field(None, gt=0)
    human_equivalent_source: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Drug:
        if self.dose_effect:
            needed, given = DOSE_EFFECT_PARAMETERS, [p.name for p in self.dose_effect]
            if self.pk or self.pd:
                raise ValueError("a dose-effect drug has no pk or pd block")
        else:
            needed, given = PK_PARAMETERS + PD_PARAMETERS, [p.name for p in self.pk + self.pd]
        missing = sorted(set(needed) - set(given))
        extra = sorted(set(given) - set(needed))
        if missing or extra:
            raise ValueError(f"drug parameters: missing {missing}, unknown {extra}")
        if self.default.route not in self.routes:
            raise ValueError(f"default route {self.default.route} is not one of the drug's routes {self.routes}")
        low, high = self.dose_range
        if not 0 < low <= self.default.dose <= high:
            raise ValueError(f"dose_range {list(self.dose_range)} must be positive and hold the default dose "
                             f"{self.default.dose:g}")
        mouse_dose_effect = self.species == "mouse" and bool(self.dose_effect)
        if self.dose_unit == "mg/kg" and mouse_dose_effect and not self.human_equivalent_factor:
            raise ValueError("a mouse dose-effect drug in mg/kg needs human_equivalent_factor")
        return self

    def check_administration(self, dose: float, route: str | None) -> None:
        """Refuse (ValueError, naming the field and what is allowed) a route the drug is not given by or a
        dose outside :attr:`dose_range`."""
        if route is not None and route not in self.routes:
            raise ValueError(f'route = "{route}": {self.name} is given {" or ".join(self.routes)}')
        low, high = self.dose_range
        if not low <= dose <= high:
            raise ValueError(f"dose = {dose:g}: must be >= {low:g} and <= {high:g} {self.dose_unit} for {self.name}, "
                             f"the doses it was given at in its sources (`awaken trial drugs {self.name}`)")

    @property
    def has_pk(self) -> bool:
        return not self.dose_effect

    def parameters(self) -> list[Parameter]:
        return [*self.pk, *self.pd, *self.dose_effect]

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters():
            if p.name == name:
                return p
        raise KeyError(f"{self.name} has no parameter {name}")

    def value(self, name: str) -> float:
        return self.parameter(name).value


class DrugTable(_Strict):
    drugs: dict[str, Drug]
    class_effects: list[Parameter]
    harms: list[Parameter]

    @model_validator(mode="after")
    def _named(self) -> DrugTable:
        names = {p.name for p in self.class_effects}
        if names != set(CLASS_EFFECTS):
            raise ValueError(f"class_effects must be exactly {CLASS_EFFECTS}")
        for key, drug in self.drugs.items():
            object.__setattr__(drug, "name", key)
        return self

    def drug(self, name: str) -> Drug:
        try:
            return self.drugs[name]
        except KeyError:
            raise KeyError(f"unknown drug {name!r}: choose one of {', '.join(self.drugs)}") from None

    def names(self, species: str) -> tuple[str, ...]:
        return tuple(k for k, d in self.drugs.items() if d.species == species)

    def class_effect(self, name: str) -> float:
        return next(p.value for p in self.class_effects if p.name == name)

    def harm(self, name: str) -> float:
        return next(p.value for p in self.harms if p.name == name)


@lru_cache(maxsize=1)
def load_drug_table() -> DrugTable:
    """The shipped drug table, validated."""
    text = (resources.files("awaken.pharmacology") / "data" / "drugs.yaml").read_text(encoding="utf-8")
    return DrugTable.model_validate(yaml.safe_load(text))
