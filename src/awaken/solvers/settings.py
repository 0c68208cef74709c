"""The settings of a virtual population (``awaken population``), checked before any work starts.

Light on purpose: the command line reads the ranges for its help from here without loading the
compiled solver.

Example
-------
>>> PopulationSettings(n=10).output_days[:3]
(0.0, 3.0, 6.0)
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from awaken.experiments.protocol import MAX_DAYS
from awaken.schemas import Flag, Integer, Real

__all__ = ["PopulationSettings", "MAX_INDIVIDUALS", "DEFAULT_OUTPUT_DAYS", "DEFAULT_RTOL"]

MAX_INDIVIDUALS = 10_000_000
DEFAULT_OUTPUT_DAYS: tuple[float, ...] = (0, 3, 6, 9, 12, 15, 21, 28, 42, 60, 90, 120)
#: Relative tolerance of the fast solver, chosen by measurement (benchmarks/population_solver.py,
#: docs/performance.md): at 5e-5 the dcc_count of 300 drawn mice of six experiments stays within
#: 5.2e-5 of the reference solver at every output day (influenza 2.5e-5; the requirement is 1e-4,
#: tested over six experiments); 1e-4 came within 2.7e-5 on 60 mice of five experiments but leaves
#: too little margin to be the default.
DEFAULT_RTOL = 5e-5


class PopulationSettings(BaseModel):
    """How many individuals, when they are read out and how precisely they are integrated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: Integer = Field(1000, ge=1, le=MAX_INDIVIDUALS, json_schema_extra={"unit": "individuals"},
                       description="individuals to keep")
    seed: Integer = Field(0, ge=0, le=2**32 - 1, description="random seed of the draws")
    output_days: tuple[Real, ...] = Field(DEFAULT_OUTPUT_DAYS, validate_default=True, json_schema_extra={"unit": "d"},
                                          description="read-out days")
    days: Real | None = Field(None, gt=0, le=MAX_DAYS, json_schema_extra={"unit": "d"},
                              description="length of the run (default: the last read-out day)")
    rtol: Real = Field(DEFAULT_RTOL, ge=1e-12, le=1e-2, description="relative tolerance of the fast solver")
    variability: Flag = Field(True, description="draw individuals around the calibrated values (false: every "
                                                "individual is the typical one)")

    @field_validator("output_days")
    @classmethod
    def _days_inside(cls, days: tuple[float, ...]) -> tuple[float, ...]:
        if not days:
            raise ValueError("give at least one read-out day")
        bad = [d for d in days if not (math.isfinite(d) and 0 <= d <= MAX_DAYS)]
        if bad:
            raise ValueError(f"days must lie within [0, {MAX_DAYS}] d (not {bad[0]:g})")
        return tuple(sorted(set(float(d) for d in days)))

    @model_validator(mode="after")
    def _covered(self) -> PopulationSettings:
        if self.days is not None and self.output_days[-1] > self.days:
            raise ValueError(f"days ({self.days:g}) must cover the read-out days (the last is {self.output_days[-1]:g})")
        return self

    @property
    def end(self) -> float:
        """The run's last day."""
        return float(self.days if self.days is not None else self.output_days[-1])
