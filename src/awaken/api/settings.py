"""Settings of the commands that have no schema of their own elsewhere, checked before any work.

Light on purpose: the command line reads ranges and units for its help from the schemas without
loading the solvers.

Example
-------
>>> ReproduceSettings().survivors
100000
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from awaken.experiments.protocol import MAX_DAYS
from awaken.schemas import Integer
from awaken.targets import LAST_TARGET_DAY

__all__ = ["ReproduceSettings"]


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
    engine: Literal["reference", "fast"] = Field("reference", description="engine of the virtual experiments "
                                                   "(awaken.api.experiments.ENGINES)")
