"""The experiment protocol: what is done to an animal (or a person) and when - with no solver in it.

An :class:`Experiment` names the host (MMTV-Her2 or wild type, IL-6 intact or knocked out), the
infection (or none, for PBS), treatments with their schedules (depleting antibodies today; drugs,
vaccines and antivirals belong here too), which mechanisms of the biology are switched on,
parameter overrides, and the group size, duration and seed. It is a file a researcher can write
(YAML or TOML; ``awaken validate FILE`` checks one); the shipped experiments
(:mod:`awaken.experiments.catalogue`) are experiments too.

Engines consume it: the lung model's reference and fast solvers (:mod:`awaken.solvers`, which turn
it into the model's controls and events in :mod:`awaken.solvers.schedule`), the SBML and COMBINE
exporters (:mod:`awaken.export`), and any later engine. What an engine gives back is fixed by the
result contract, :mod:`awaken.experiments.results`.

Example (YAML)::

    name: anti_cd4_influenza
    virus: {kind: influenza_a_pr8}
    treatments:
      - {kind: anti_cd4, start_day: 9, end_day: 28}
      - {kind: drug, drug: mr16_1, dose: 0.5, route: ip, doses: 4, interval_days: 7, start_day: 3}
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from awaken.lung.parameters import check_overrides, load_parameter_table
from awaken.pharmacology.drugs import ROUTES, load_drug_table
from awaken.schemas import Flag, Integer, Real

__all__ = ["Host", "Virus", "Treatment", "DrugTreatment", "Mechanisms", "Experiment", "TREATMENTS", "MAX_DAYS"]

MAX_DAYS = 3650
#: Treatments an experiment can give: depleting antibodies (clone) and the isotype control.
TREATMENTS = {"anti_cd4": "GK1.5, depletes CD4 T cells", "anti_cd8": "2.43, depletes CD8 T cells",
              "anti_ly6g": "1A8, depletes neutrophils", "isotype_igg": "isotype control IgG"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Host(_Strict):
    strain: Literal["mmtv_her2", "wild_type"] = Field(
        "mmtv_her2", description="MMTV-Her2 mice carry dormant HER2+ lung DCCs; wild-type FVB mice carry none")
    il6: Literal["wild_type", "knockout"] = Field("wild_type", description="IL-6 genotype")


class Virus(_Strict):
    kind: str = Field(description="infecting virus: a strain of the species' parameter table "
                                  "(mouse: influenza_a_pr8, sars_cov_2_ma10; human: influenza_seasonal, sars_cov_2)")
    dose: Real | None = Field(
        None, gt=0, le=1e7, json_schema_extra={"unit": "infectious units (TCID50 or PFU)"},
        description="intranasal inoculum; default: the strain's sublethal default (75 TCID50 PR8, 1000 PFU MA10)")
    day: Real = Field(0.0, ge=0, le=MAX_DAYS, json_schema_extra={"unit": "d"},
                       description="day of infection")


class Treatment(_Strict):
    kind: Literal[tuple(TREATMENTS)] = Field(description="depleting antibody or isotype control")  # type: ignore[valid-type]
    start_day: Real = Field(ge=0, le=MAX_DAYS, json_schema_extra={"unit": "d"}, description="first day of treatment")
    end_day: Real | None = Field(None, gt=0, le=MAX_DAYS, json_schema_extra={"unit": "d"},
                                  description="last day of treatment (default: to the end of the run)")

    @model_validator(mode="after")
    def _ordered(self) -> Treatment:
        if self.end_day is not None and self.end_day <= self.start_day:
            raise ValueError(f"end_day ({self.end_day:g}) must be after start_day ({self.start_day:g})")
        return self


class DrugTreatment(_Strict):
    """A course of a drug of :mod:`awaken.pharmacology` (PK and PD from its table): ``doses`` doses of
    ``dose`` every ``interval_days`` from ``start_day``."""

    kind: Literal["drug"] = Field(description="a drug course (PK/PD from awaken/pharmacology/data/drugs.yaml)")
    drug: str = Field(description="drug name: mouse mr16_1, oseltamivir_mouse; human tocilizumab, sarilumab, "
                                  "siltuximab, baricitinib, ruxolitinib, oseltamivir, nirmatrelvir_ritonavir")
    dose: Real = Field(gt=0, le=10_000, json_schema_extra={"unit": "the drug's dose unit (mg or mg/kg)"},
                       description="dose per administration")
    route: Literal[ROUTES] | None = Field(None, description="iv, sc, ip or oral (default: the drug's usual route)")  # type: ignore[valid-type]
    doses: Integer = Field(1, ge=1, le=400, json_schema_extra={"unit": "doses"}, description="number of doses")
    interval_days: Real = Field(1.0, gt=0, le=365, json_schema_extra={"unit": "d"}, description="time between doses")
    start_day: Real = Field(ge=0, le=MAX_DAYS, json_schema_extra={"unit": "d"}, description="day of the first dose")

    @model_validator(mode="after")
    def _known_drug(self) -> DrugTreatment:
        table = load_drug_table()
        if self.drug not in table.drugs:
            raise ValueError(f'drug = "{self.drug}": choose one of {", ".join(table.drugs)}')
        table.drugs[self.drug].check_administration(self.dose, self.route)
        return self

    def course(self):
        """The :class:`awaken.pharmacology.drugs.Course` this treatment gives."""
        from awaken.pharmacology.drugs import Course
        drug = load_drug_table().drug(self.drug)
        return Course(dose=self.dose, route=self.route or drug.default.route, doses=self.doses,
                      interval_days=self.interval_days)


AnyTreatment = Annotated[Treatment | DrugTreatment, Field(discriminator="kind")]


class Mechanisms(_Strict):
    """Switches for the model's mechanisms (ablations; the biology stays otherwise intact)."""

    il6_stat3: Flag = Field(True, description="IL-6 drives STAT3 activity in DCCs")
    neutrophil_niche: Flag = Field(True, description="neutrophil extracellular traps remodel laminin, letting DCCs divide")
    cd8_killing: Flag = Field(True, description="tumour-reactive CD8 T cells kill proliferating DCCs")
    cd4_suppression: Flag = Field(True, description="lesion-adjacent CD4 aggregates hold back CD8 activation and killing")
    seeding: Flag = Field(False, description="new dormant DCCs keep arriving from the primary tumour")


class Experiment(_Strict):
    """A virtual experiment: what is done to a group of animals (or people), and when."""

    name: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64, description="identifier (lower case, digits, _)")
    description: str = Field("", description="what the experiment tests")
    species: Literal["mouse", "human"] = Field("mouse", description="whose parameter table the individuals carry")
    host: Host = Host()
    virus: Virus | None = Field(None, description="infection; none means PBS mock instillation")
    treatments: list[AnyTreatment] = Field(default_factory=list)
    mechanisms: Mechanisms = Mechanisms()
    parameters: dict[str, Real] = Field(default_factory=dict, description="overrides of nominal parameter values")
    mice: Integer = Field(4, ge=1, le=1000, json_schema_extra={"unit": "mice"}, description="mice per group")
    variability: Flag = Field(True, description="draw each mouse's parameters around the nominal values; "
                                                "false makes every mouse the typical (nominal) mouse")
    days: Integer = Field(365, ge=1, le=MAX_DAYS, json_schema_extra={"unit": "d"}, description="length of the run")
    seed: Integer = Field(0, ge=0, le=2**32 - 1, description="random seed for the mice's parameter draws")

    @model_validator(mode="after")
    def _parameters_known_and_in_range(self) -> Experiment:
        table = load_parameter_table(self.species)
        if self.virus is not None and self.virus.kind not in table.viruses:
            raise ValueError(f'virus.kind = "{self.virus.kind}": choose one of {", ".join(table.viruses)} '
                             f"(the {self.species} strains)")
        check_overrides(self.parameters, lambda name: table.get(name, self.virus_kind),
                        f"a parameter of the {self.species} lung model")
        return self

    @model_validator(mode="after")
    def _schedule_inside_run(self) -> Experiment:
        if self.virus is not None and self.virus.day >= self.days:
            raise ValueError(f"virus.day ({self.virus.day:g}) must be before the end of the run (days = {self.days})")
        for i, treatment in enumerate(self.treatments):
            if treatment.start_day >= self.days:
                raise ValueError(f"treatments.{i}.start_day ({treatment.start_day:g}) must be before the end of the "
                                 f"run (days = {self.days})")
            if isinstance(treatment, DrugTreatment):
                species = load_drug_table().drug(treatment.drug).species
                if species != self.species:
                    hint = (" (tocilizumab does not block mouse IL-6R: use mr16_1; Lokau et al. 2020)"
                            if self.species == "mouse" else "")
                    raise ValueError(f'treatments.{i}.drug = "{treatment.drug}" is a {species} drug, and this '
                                     f"experiment's species is {self.species}{hint}")
        # Two courses of the same antibody may not overlap: the first one's end would silently end the other.
        antibodies = [(i, t) for i, t in enumerate(self.treatments) if isinstance(t, Treatment)]
        for n, (i, a) in enumerate(antibodies):
            for j, b in antibodies[n + 1:]:
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
