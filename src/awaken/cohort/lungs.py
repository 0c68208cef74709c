"""A virtual lung for every survivor: each infection in the cohort runs in its person's lung model.

Each survivor carries a persistent set of within-host parameters, drawn once from the human
parameter table (``awaken/lung/data/human_parameters.yaml``) around its values with the table's
coefficients of variation, log-normal and inside each parameter's plausible range by the rule every
individual is drawn by (:func:`awaken.lung.parameters.lognormal_inside`), but from counter-based
normal deviates keyed by ``(seed, person id, parameter name)`` (:mod:`awaken.cohort.draws`). So a person's inflammatory phenotype is the same at
every infection, in every scenario and every trial arm, and does not depend on how the cohort is cut
into blocks. A parameter that also differs between pathogens (the viral kinetics) keeps the person's
deviate: someone whose draws give a brisk influenza response gives a brisk SARS-CoV-2 response too.

Every accepted infection is simulated by the fast solver
(:meth:`awaken.solvers.fast.FastSolver.simulate_columns`): the person's lung, pre-equilibrated as
every lung-model run is, infected on day 0 with the pathogen's human strain; a vaccinated person's
lung meets the virus with lower infectivity and faster virus clearance, in proportion to how much of
the vaccine's protection is left (``vaccine_lung_*`` in the cohort table). What leaves the lung
(:data:`LUNG_READOUTS`) is what the cohort's cancer course reads (:mod:`awaken.cohort.cancer_course`).

Example
-------
>>> import numpy as np
>>> from awaken.cohort.lungs import person_parameters
>>> a = person_parameters(seed=1, person_id=np.arange(4), strain="sars_cov_2")
>>> b = person_parameters(seed=1, person_id=np.array([3, 2]), strain="sars_cov_2")
>>> bool(a["il6_per_infected_cell"][3] == b["il6_per_infected_cell"][0])
True
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from awaken.cohort.draws import normals
from awaken.experiments.protocol import Experiment
from awaken.lung import equations
from awaken.lung.parameters import RANGE_ATTEMPTS, load_parameter_table, lognormal_inside
from awaken.pharmacology.drugs import Course, load_drug_table
from awaken.pharmacology.exposure import drug_controls, person_pk
from awaken.solvers.fast import FastSolver
from awaken.solvers.schedule import Event, animal_setup, drug_event_table

__all__ = ["HUMAN_STRAINS", "LUNG_READOUTS", "HORIZON_DAYS", "LungOutcomes", "person_parameters",
           "simulate_lungs", "IL6_RAISED", "OUTPUT_DAYS"]

#: Cohort pathogen code (:data:`awaken.cohort.exposures.PATHOGENS`) -> strain of the human lung table.
HUMAN_STRAINS = ("influenza_seasonal", "sars_cov_2")
#: Day after infection at which the DCC fold change is read.
HORIZON_DAYS = 120.0
#: IL-6 above this counts as raised (pg/mL): ten times the human baseline of 1 pg/mL (Jenner et al. 2021).
IL6_RAISED = 10.0
#: Output grid: every half day for three weeks (IL-6 and virus time courses), then days 28, 60 and 120.
OUTPUT_DAYS = np.concatenate([np.arange(0.0, 21.0 + 1e-9, 0.5), [28.0, 60.0, HORIZON_DAYS]])
#: What leaves the lung, per infection: name -> (unit, meaning).
LUNG_READOUTS: dict[str, tuple[str, str]] = {
    "fold_change": ("dimensionless", "DCC count 120 d after infection / on the day of infection"),
    "proliferating_cells": ("cell", "proliferating (epithelial-like) DCCs 28 d after infection"),
    "il6_peak": ("pg/mL", "peak IL-6 after infection"),
    "il6_raised_days": ("d", f"days with IL-6 above {IL6_RAISED:g} pg/mL in the first three weeks"),
    "virus_peak": ("infectious unit/mL", "peak free virus"),
    "clearance_day": ("d", "first day after the peak with virus below 10/mL (21.5: not cleared by day 21)"),
}
_LUNG_STREAM = 1_000_000  # + a code of the parameter name (below 1e6): the person's deviate of that parameter
_CHUNK = 8192  # infections per solver call (bounds memory: states of a chunk are ~60 MB)
_DETECTION_LIMIT = 10.0


def _name_stream(name: str) -> int:
    return _LUNG_STREAM + zlib.crc32(name.encode()) % 1_000_000


def _check_streams() -> None:
    """Two parameters must never share a deviate (a hash collision would tie them together)."""
    names = {p.name for strain in HUMAN_STRAINS for p in load_parameter_table("human").parameters(strain)}
    streams = {_name_stream(n) for n in names}
    if len(streams) != len(names):
        raise RuntimeError("two lung parameters hash to the same random stream: change _LUNG_STREAM's scheme")


def person_parameters(seed: int, person_id: np.ndarray, strain: str) -> dict[str, np.ndarray]:
    """Within-host parameters of each person (one array per parameter of the human table for ``strain``)."""
    person_id = np.asarray(person_id, dtype=np.int64)
    _checked_streams()
    out = {}
    for p in load_parameter_table("human").parameters(strain):
        if p.cv == 0 or p.value == 0:
            out[p.name] = np.full(person_id.size, float(p.value))
            continue
        stream = _name_stream(p.name)
        deviates = np.column_stack([normals(seed, person_id, stream, k) for k in range(RANGE_ATTEMPTS)])
        out[p.name] = lognormal_inside(p.value, p.cv, p.range, deviates)
    return out


@lru_cache(maxsize=1)
def _checked_streams() -> bool:
    _check_streams()
    return True


@dataclass(frozen=True)
class LungOutcomes:
    """The read-outs of :data:`LUNG_READOUTS`, one value per simulated infection."""

    fold_change: np.ndarray
    proliferating_cells: np.ndarray
    il6_peak: np.ndarray
    il6_raised_days: np.ndarray
    virus_peak: np.ndarray
    clearance_day: np.ndarray
    #: virus back above the detection limit after having fallen below it, within three weeks (a harm of
    #: short antiviral courses; not written to the records)
    rebound: np.ndarray | None = None

    @classmethod
    def empty(cls, n: int) -> LungOutcomes:
        return cls(*(np.full(n, np.nan) for _ in LUNG_READOUTS), rebound=np.zeros(n, dtype=bool))


@lru_cache(maxsize=2)
def _solver() -> FastSolver:
    return FastSolver()


@lru_cache(maxsize=4)
def _schedule(strain: str) -> tuple[dict[str, float], list[Event]]:
    """Controls at day 0 and the infection event of a person infected with ``strain`` on day 0."""
    experiment = Experiment(name=f"survivor_{strain}", species="human", virus={"kind": strain},
                            days=int(HORIZON_DAYS) + 1)
    _, controls, events = animal_setup(experiment, load_parameter_table("human").nominal(strain))
    return controls, events


def simulate_lungs(seed: int, person_id: np.ndarray, pathogen: np.ndarray, vaccine_strength: np.ndarray,
                   values: dict[str, float], drugs: list[tuple[str, Course, np.ndarray]] | None = None
                   ) -> LungOutcomes:
    """Simulate each infection ``j`` (person ``person_id[j]``, cohort pathogen code ``pathogen[j]``) in
    that person's lung; ``vaccine_strength[j]`` in [0, 1] is the share of the vaccine's protection left
    (0: unvaccinated). ``values`` are the cohort parameters (the ``vaccine_lung_*`` effects). ``drugs``
    (a trial arm): ``(drug, course, start day after infection per infection, NaN = not given)``; each
    person's PK is drawn like their lung (:func:`drug_pk`)."""
    n = person_id.size
    out = {name: np.full(n, np.nan) for name in LUNG_READOUTS}
    out["rebound"] = np.zeros(n, dtype=bool)
    given = np.zeros(n, dtype=bool)
    for _, _, start in drugs or []:
        given |= np.isfinite(start)
    for code, strain in enumerate(HUMAN_STRAINS):
        for treated in (False, True):
            rows = np.flatnonzero((pathogen == code) & (given == treated))
            for a in range(0, rows.size, _CHUNK):
                chunk = rows[a:a + _CHUNK]
                courses = [(name, course, start[chunk]) for name, course, start in drugs or []] if treated else None
                result = _one_strain(seed, person_id[chunk], strain, vaccine_strength[chunk], values, courses)
                for name, column in result.items():
                    out[name][chunk] = column
    return LungOutcomes(**out)


_PK_STREAM = 3_000_000  # + a code of "drug.parameter": a person's deviate of that PK parameter


def drug_pk(seed: int, person_id: np.ndarray, drug: str) -> dict[str, np.ndarray]:
    """Each person's PK/PD values of ``drug``: table values, and log-normal draws keyed by
    ``(seed, person, drug parameter)`` for those with a between-person ``cv`` - the same in every arm."""
    spec = load_drug_table().drug(drug)
    deviates = {}
    for p in spec.parameters():
        if p.cv > 0:
            stream = _PK_STREAM + zlib.crc32(f"{drug}.{p.name}".encode()) % 1_000_000
            deviates[p.name] = np.column_stack([normals(seed, person_id, stream, k) for k in range(RANGE_ATTEMPTS)])
    return person_pk(spec, deviates, person_id.size)


def _one_strain(seed: int, person_id: np.ndarray, strain: str, vaccine_strength: np.ndarray,
                values: dict[str, float], courses: list[tuple[str, Course, np.ndarray]] | None = None
                ) -> dict[str, np.ndarray]:
    columns = person_parameters(seed, person_id, strain)
    strength = np.asarray(vaccine_strength, dtype=float)
    columns["virus_infectivity"] = columns["virus_infectivity"] * (1.0 - values["vaccine_lung_infectivity_reduction"]
                                                                   * strength)
    columns["virus_clearance"] = columns["virus_clearance"] * (1.0 + values["vaccine_lung_clearance_gain"] * strength)
    controls, events = _schedule(strain)
    columns.update(controls)
    dose = load_parameter_table("human").viruses[strain].default_dose
    infection = [Event(day=e.day, controls=e.controls,
                       state_increments={"infected_eclipse": dose * columns["inoculum_infectivity"]})
                 if "infected_eclipse" in e.state_increments else e for e in events]
    n = person_id.size
    individual = None
    if courses:
        # the drug controls start at 0 (columns) and change at bin edges, person by person; a course that is
        # not given has start NaN
        shown = [(name, course, np.where(np.isfinite(start), start, np.inf)) for name, course, start in courses]
        pk = {name: drug_pk(seed, person_id, name) for name, _, _ in courses}
        edges, controls = drug_controls(shown, n, HORIZON_DAYS + 1.0, pk=pk)
        individual = drug_event_table(edges, controls, HORIZON_DAYS + 1.0)
    result = _solver().simulate_columns(columns, n, infection, HORIZON_DAYS + 1.0, OUTPUT_DAYS, individual)
    model = _solver().model
    states = result.states
    sampled = columns["section_sampling_fraction"][:, None]
    dcc = sum(states[:, :, model.index(s)] for s in equations.DCC_STATES) * sampled
    il6 = states[:, :, model.index("il6")]
    virus = states[:, :, model.index("virus")]
    at = {d: int(np.searchsorted(OUTPUT_DAYS, d)) for d in (0.0, 28.0, HORIZON_DAYS)}
    early = OUTPUT_DAYS <= 21.0
    peak_at = virus[:, early].argmax(axis=1)
    after_peak = np.arange(early.sum())[None, :] >= peak_at[:, None]
    below = (virus[:, early] < _DETECTION_LIMIT) & after_peak
    cleared = below.any(axis=1)
    clearance = np.where(cleared, OUTPUT_DAYS[early][below.argmax(axis=1)], 21.5)
    after_clearance = np.arange(early.sum())[None, :] > below.argmax(axis=1)[:, None]
    rebound = cleared & ((virus[:, early] >= _DETECTION_LIMIT) & after_clearance).any(axis=1)
    return {
        "rebound": rebound,
        "fold_change": dcc[:, at[HORIZON_DAYS]] / dcc[:, at[0.0]],
        "proliferating_cells": states[:, at[28.0], model.index("dcc_proliferating")],
        "il6_peak": il6[:, early].max(axis=1),
        "il6_raised_days": 0.5 * (il6[:, early] > IL6_RAISED).sum(axis=1),
        "virus_peak": virus[:, early].max(axis=1),
        "clearance_day": clearance,
    }
