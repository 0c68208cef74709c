"""The lung scenario: what a virtual mouse experiment is, as a file a researcher can write.

A scenario names the host (MMTV-Her2 or wild type, IL-6 intact or knocked out), the infection (or
none, for PBS), antibody treatments with their schedules, which mechanisms of the model are
switched on, parameter overrides, and the group size, duration and seed. The shipped experiments
(``awaken/lung/scenarios/*.yaml``) are scenarios too; ``awaken validate FILE`` checks one.

Example (YAML)::

    name: anti_cd4_influenza
    virus: {kind: influenza_a_pr8}
    treatments:
      - {kind: anti_cd4, start_day: 9, end_day: 28}
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from awaken.lung.parameters import check_overrides, load_parameter_table

__all__ = ["Host", "Virus", "Treatment", "Mechanisms", "LungScenario", "TREATMENT_CONTROLS", "MAX_DAYS"]

MAX_DAYS = 3650
#: Which model control each antibody switches on (isotype IgG is a control and switches nothing).
TREATMENT_CONTROLS: dict[str, str | None] = {
    "anti_cd4": "anti_cd4_on",  # GK1.5
    "anti_cd8": "anti_cd8_on",  # 2.43
    "anti_ly6g": "anti_ly6g_on",  # 1A8, neutrophil depletion
    "isotype_igg": None,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Host(_Strict):
    strain: Literal["mmtv_her2", "wild_type"] = Field(
        "mmtv_her2", description="MMTV-Her2 mice carry dormant HER2+ lung DCCs; wild-type FVB mice carry none")
    il6: Literal["wild_type", "knockout"] = Field("wild_type", description="IL-6 genotype")


class Virus(_Strict):
    kind: str = Field(description="infecting virus: a strain of the species' parameter table "
                                  "(mouse: influenza_a_pr8, sars_cov_2_ma10; human: influenza_seasonal, sars_cov_2)")
    dose: float | None = Field(
        None, gt=0, le=1e7, json_schema_extra={"unit": "infectious units (TCID50 or PFU)"},
        description="intranasal inoculum; default: the strain's sublethal default (75 TCID50 PR8, 1000 PFU MA10)")
    day: float = Field(0.0, ge=0, le=MAX_DAYS, json_schema_extra={"unit": "d"},
                       description="day of infection")


class Treatment(_Strict):
    kind: Literal["anti_cd4", "anti_cd8", "anti_ly6g", "isotype_igg"] = Field(description="depleting antibody or isotype control")
    start_day: float = Field(ge=0, le=MAX_DAYS, json_schema_extra={"unit": "d"}, description="first day of treatment")
    end_day: float | None = Field(None, gt=0, le=MAX_DAYS, json_schema_extra={"unit": "d"},
                                  description="last day of treatment (default: to the end of the run)")

    @model_validator(mode="after")
    def _ordered(self) -> Treatment:
        if self.end_day is not None and self.end_day <= self.start_day:
            raise ValueError(f"end_day ({self.end_day:g}) must be after start_day ({self.start_day:g})")
        return self


class Mechanisms(_Strict):
    """Switches for the model's mechanisms (ablations; the biology stays otherwise intact)."""

    il6_stat3: bool = Field(True, description="IL-6 drives STAT3 activity in DCCs")
    neutrophil_niche: bool = Field(True, description="neutrophil extracellular traps remodel laminin, letting DCCs divide")
    cd8_killing: bool = Field(True, description="tumour-reactive CD8 T cells kill proliferating DCCs")
    cd4_suppression: bool = Field(True, description="lesion-adjacent CD4 aggregates hold back CD8 activation and killing")
    seeding: bool = Field(False, description="new dormant DCCs keep arriving from the primary tumour")

    def controls(self) -> dict[str, float]:
        return {f"mechanism_{name}": float(on) for name, on in self.model_dump().items()}


class LungScenario(_Strict):
    """A virtual mouse experiment."""

    name: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64, description="identifier (lower case, digits, _)")
    description: str = Field("", description="what the experiment tests")
    species: Literal["mouse", "human"] = Field("mouse", description="whose parameter table the individuals carry")
    host: Host = Host()
    virus: Virus | None = Field(None, description="infection; none means PBS mock instillation")
    treatments: list[Treatment] = Field(default_factory=list)
    mechanisms: Mechanisms = Mechanisms()
    parameters: dict[str, float] = Field(default_factory=dict, description="overrides of nominal parameter values")
    mice: int = Field(4, ge=1, le=1000, json_schema_extra={"unit": "mice"}, description="mice per group")
    variability: bool = Field(True, description="draw each mouse's parameters around the nominal values; "
                                                "false makes every mouse the typical (nominal) mouse")
    days: int = Field(365, ge=1, le=MAX_DAYS, json_schema_extra={"unit": "d"}, description="length of the run")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="random seed for the mice's parameter draws")

    @model_validator(mode="after")
    def _parameters_known_and_in_range(self) -> LungScenario:
        table = load_parameter_table(self.species)
        if self.virus is not None and self.virus.kind not in table.viruses:
            raise ValueError(f'virus.kind = "{self.virus.kind}": choose one of {", ".join(table.viruses)} '
                             f"(the {self.species} strains)")
        check_overrides(self.parameters, lambda name: table.get(name, self.virus_kind),
                        f"a parameter of the {self.species} lung model")
        return self

    @model_validator(mode="after")
    def _schedule_inside_run(self) -> LungScenario:
        if self.virus is not None and self.virus.day >= self.days:
            raise ValueError(f"virus.day ({self.virus.day:g}) must be before the end of the run (days = {self.days})")
        for i, treatment in enumerate(self.treatments):
            if treatment.start_day >= self.days:
                raise ValueError(f"treatments.{i}.start_day ({treatment.start_day:g}) must be before the end of the "
                                 f"run (days = {self.days})")
        # Two courses of the same antibody may not overlap: the first one's end would silently end the other.
        for i, a in enumerate(self.treatments):
            for j, b in enumerate(self.treatments[i + 1:], start=i + 1):
                a_end = self.days if a.end_day is None else a.end_day
                b_end = self.days if b.end_day is None else b.end_day
                if a.kind == b.kind and a.start_day < b_end and b.start_day < a_end:
                    raise ValueError(f"treatments.{i} and treatments.{j} are overlapping courses of {a.kind}; "
                                     f"merge them into one course")
        return self

    @property
    def virus_kind(self) -> str:
        """The virus whose parameters the mice carry (influenza for PBS groups: they are never used)."""
        return self.virus.kind if self.virus else next(iter(load_parameter_table(self.species).viruses))

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        """Hash of the scenario's content (recorded in run provenance)."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()
