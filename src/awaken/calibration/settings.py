"""The settings of a calibration run (``awaken fit``), checked before any work starts.

Light on purpose: the command line reads the ranges for its help from here without loading the solvers.

Example
-------
>>> FitSettings().walkers
48
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from awaken.lung.parameters import fitted_parameters
from awaken.schemas import Integer

__all__ = ["FitSettings", "ExplainSettings", "PHASES", "COMBINATION_NAMES", "MIN_REAL_SIZE_N"]

#: Fewest survivors per seed for the real-size UK Biobank studies (4,837 tested survivors drawn from a
#: cohort of which about 23 % are tested survivors: 300,000 default survivors hold 70,681).
MIN_REAL_SIZE_N = 40_000

#: The combinations of human mechanisms ``awaken explain`` compares (defined in
#: :data:`awaken.calibration.explanations.COMBINATIONS`; a test keeps the two in step).
COMBINATION_NAMES = ("awakening", "occult_acceleration", "metastatic_acceleration", "acceleration", "non_causal",
                     "awakening_and_non_causal", "acceleration_and_non_causal", "all")

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


class ExplainSettings(BaseModel):
    """How large the joint calibration of the human mechanisms is (checked before any work)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: Integer = Field(300_000, ge=10_000, le=5_000_000, json_schema_extra={"unit": "people"},
                       description="survivors per seed (the UK Biobank design keeps about a quarter as tested)")
    seeds: tuple[Integer, ...] = Field((2020, 2021), min_length=1, max_length=10,
                                       description="cohort seeds: a particle is accepted only if it meets every "
                                                   "target on every seed")
    particles: Integer = Field(32, ge=1, le=2000, description="prior draws per combination of mechanisms")
    combinations: tuple[str, ...] | None = Field(None, description="combinations to compare (default: all)")
    replicates: Integer = Field(200, ge=0, le=10_000, description="UK Biobank studies of the real size per "
                                                                  "accepted explanation")
    prior_seed: Integer = Field(7, ge=0, le=2**63 - 1, description="seed of the prior draws")

    @model_validator(mode="after")
    def _real_size_needs_survivors(self) -> ExplainSettings:
        if self.replicates and self.n < MIN_REAL_SIZE_N:
            raise ValueError(f"replicates = {self.replicates} needs n >= {MIN_REAL_SIZE_N:,}: a real-size UK Biobank "
                             f"study draws 4,837 tested survivors and about a quarter of a cohort is tested "
                             f"(give replicates = 0 for a smaller n)")
        return self

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, seeds: tuple[int, ...]) -> tuple[int, ...]:
        if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
            raise ValueError("seeds must be distinct and >= 0")
        return seeds

    @field_validator("combinations")
    @classmethod
    def _known(cls, combinations: tuple[str, ...] | None) -> tuple[str, ...] | None:
        unknown = sorted(set(combinations or ()) - set(COMBINATION_NAMES))
        if unknown:
            raise ValueError(f"unknown combination {', '.join(map(repr, unknown))}: choose from "
                             f"{', '.join(COMBINATION_NAMES)}")
        return combinations
