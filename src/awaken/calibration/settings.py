"""The settings of a calibration run (``awaken fit``), checked before any work starts.

Light on purpose: the command line reads the ranges for its help from here without loading the solvers.

Example
-------
>>> FitSettings().walkers
48
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from awaken.lung.parameters import fitted_parameters
from awaken.schemas import Integer

__all__ = ["FitSettings", "PHASES"]

#: Phases of a run, in order, with what their progress counts.
PHASES = {"starts": "multi-start (starts)", "profiles": "profiles (parameters)",
          "ensemble": "ensemble sampler (generations)"}


class FitSettings(BaseModel):
    """Settings of one calibration run (ranges checked before any work starts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    starts: Integer = Field(20, ge=1, le=10_000, description="random starts (the shipped values are tried as well)")
    seed: Integer = Field(0, ge=0, le=2**32 - 1, description="random seed of the starts and the sampler")
    max_iterations: Integer = Field(200, ge=1, le=100_000, description="L-BFGS-B iterations per start")
    profiles: list[str] | None = Field(None, description="parameters to profile (None: all; []: none)")
    walkers: Integer = Field(48, ge=2, le=10_000, description="ensemble sampler walkers (even, >= 2 x parameters)")
    generations: Integer = Field(400, ge=2, le=1_000_000, description="sampler generations (first half is burn-in)")
    ensemble_size: Integer = Field(200, ge=1, le=100_000, description="members kept from the second half")

    @model_validator(mode="after")
    def _consistent(self) -> FitSettings:
        names = [p.name for p in fitted_parameters()]
        if self.profiles is not None:
            unknown = [p for p in self.profiles if p not in names]
            if unknown:
                raise ValueError(f"profiles: unknown parameter(s) {', '.join(unknown)}; fitted are {', '.join(names)}")
        if self.walkers % 2 or self.walkers < 2 * len(names):
            raise ValueError(f"walkers = {self.walkers}: need an even number >= {2 * len(names)} "
                             f"(twice the {len(names)} fitted parameters)")
        return self
