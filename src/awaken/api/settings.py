"""The schemas of every command's settings, in one place for the command line's help and for forms.

Each command's input is checked by a pydantic schema, defined with the science it configures:
:class:`~awaken.experiments.protocol.Experiment`, :class:`~awaken.solvers.settings.PopulationSettings`,
:class:`~awaken.calibration.settings.FitSettings`, :class:`~awaken.cohort.parameters.CohortSettings`,
:class:`~awaken.studies.power.PowerSettings`; the flagship's (:class:`ReproduceSettings`) is here.
:data:`SCHEMAS` names them all. Light on purpose: none of these modules loads a solver.

Example
-------
>>> ReproduceSettings().survivors
100000
>>> sorted(SCHEMAS)
['cohort', 'experiment', 'explain', 'fit', 'population', 'power', 'reproduce']
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from awaken.api.experiments import ENGINES
from awaken.calibration.settings import ExplainSettings, FitSettings
from awaken.cohort.parameters import CohortSettings
from awaken.experiments.protocol import MAX_DAYS, Experiment
from awaken.schemas import Integer
from awaken.solvers.settings import PopulationSettings
from awaken.studies.power import PowerSettings
from awaken.targets import LAST_TARGET_DAY

__all__ = ["ReproduceSettings", "SCHEMAS"]


class ReproduceSettings(BaseModel):
    """What ``awaken reproduce`` runs (ranges checked before any work)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mice: Integer = Field(4, ge=1, le=1000, json_schema_extra={"unit": "mice"}, description="mice per group")
    seed: Integer = Field(0, ge=0, le=2**32 - 1, description="random seed (mice and survivors)")
    days: Integer = Field(365, ge=LAST_TARGET_DAY, le=MAX_DAYS, json_schema_extra={"unit": "d"},
                          description="length of every experiment")
    survivors: Integer = Field(100_000, ge=0, le=10_000_000, json_schema_extra={"unit": "people"},
                               description="survivors in the report's cohort, simulated with and without the "
                                           "pandemic (0: leave the cohort out)")
    engine: Literal[tuple(ENGINES)] = Field("reference", description="engine of the virtual experiments "  # type: ignore[valid-type]
                                            "(reference: SciPy Radau; fast: the compiled batch solver; "
                                            "tissue: a lung section per mouse)")


#: Every command's schema, by the command's subject.
SCHEMAS: dict[str, type[BaseModel]] = {"experiment": Experiment, "reproduce": ReproduceSettings,
                                        "population": PopulationSettings, "fit": FitSettings,
                                        "cohort": CohortSettings, "power": PowerSettings,
                                        "explain": ExplainSettings}
