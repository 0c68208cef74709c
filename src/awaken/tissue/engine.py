"""The tissue engine: an experiment run on lung sections, one section per virtual mouse.

:func:`run_group_tissue` takes an :class:`~awaken.experiments.protocol.Experiment` and returns a
:class:`TissueResult`, which keeps the result contract (:mod:`awaken.experiments.results`): the
study's read-outs per mouse and day in the lung model's units, so the scorecard and the figures
read it unchanged. Each mouse carries the parameters the lung engines give it
(:func:`awaken.lung.parameters.draw_individuals`, same seed, same mice), and its section is
simulated by :func:`simulate_section`; sections run in parallel on the runs layer
(:class:`awaken.runs.execution.Execution`: inline, a local Dask cluster or ``scheduler``), and as
every random number is keyed by ``(seed, agent, step, purpose)`` the result is the same bytes on
any number of workers.

**Read-outs at the lung's scale** (:mod:`awaken.tissue.section`): cell counts are section counts
divided by the section's fraction of the lung; DCCs are scaled by ``dcc_initial /
dcc_per_section``, and so are tumour-reactive CD8 effectors, which home to them; ``dcc_count`` is
the three-section read-out (``section_sampling_fraction`` of the lung's DCCs, as the lung model);
IL-6 and virus are the section's mean field (their units are the lung's, see
:mod:`awaken.tissue.fields`); the Ki67+ fraction is the DCCs' mean division rate
over the cycling cell's, as the lung model defines it.

**The lymph node** is not in the section: the delayed antigen signal that makes T cells divide is
the lung model's three-stage chain, fed by the section's producing cells at the lung's scale (as
PhysiCell's SARS-CoV-2 model couples its tissue to a lymph-node ODE).

Example
-------
>>> from awaken.experiments.catalogue import load_experiment, with_overrides
>>> result = run_group_tissue(with_overrides(load_experiment("influenza"), days=3, mice=1), inline=True)
>>> result.timecourse.columns[:3].tolist(), result.engine
(['day', 'dcc_count', 'proliferating_fraction'], 'tissue')
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from awaken.errors import InputError
from awaken.experiments.protocol import Experiment
from awaken.experiments.results import GroupResult
from awaken.lung.equations import ANTIGEN_CHAIN_STAGES, READOUTS
from awaken.lung.parameters import draw_individuals, load_parameter_table
from awaken.runs.execution import Execution
from awaken.tissue import agents
from awaken.tissue.agents import EPITHELIUM, KINDS, K
from awaken.tissue.fields import Field, Fields
from awaken.tissue.random_numbers import uniform
from awaken.tissue.rules import find_rule, load_rules, resolve, section_parameters
from awaken.tissue.section import Geometry, Schedule, vessel_voxels

__all__ = ["run_group_tissue", "simulate_section", "TissueResult", "Section", "IMAGE_DAYS", "FIELDS"]

#: Days at which the sections are kept whole (agents and fields) for images and spatial statistics.
IMAGE_DAYS: tuple[int, ...] = (0, 3, 9, 15, 28)
#: The section's fields, in the order of :attr:`Section.fields`.
FIELDS: tuple[str, ...] = ("virus", "il6", "chemokine", "lesion_chemokine", "net_signal")
#: Hours between the frames kept for the movie of the first mouse (over at most 28 days).
MOVIE_HOURS = 12


@dataclass
class Section:
    """A section at one moment: every agent and epithelial cell, and the fields."""

    day: float
    x_um: np.ndarray
    y_um: np.ndarray
    kind: np.ndarray
    uid: np.ndarray
    stat3: np.ndarray
    ki67: np.ndarray
    epithelium: np.ndarray
    fields: dict[str, np.ndarray]
    size_um: float

    def agents(self) -> pd.DataFrame:
        """One row per agent: ``uid``, ``kind`` (name), ``x_um``, ``y_um``, ``stat3``, ``ki67``."""
        return pd.DataFrame({"uid": self.uid, "kind": pd.Categorical.from_codes(self.kind, list(KINDS)),
                             "x_um": self.x_um, "y_um": self.y_um, "stat3": self.stat3, "ki67": self.ki67})


@dataclass
class SectionRun:
    """What :func:`simulate_section` returns for one mouse."""

    readouts: pd.DataFrame
    sections: list[Section]
    movie: list[Section]
    seconds: float
    steps: int
    agent_steps: int


def _kernel_parameters(lung: dict[str, float], geometry: Geometry) -> np.ndarray:
    rules = load_rules()
    own = section_parameters()

    def rule(cell: str, behaviour: str, signal: str | None = None, part: str = "rate") -> float:
        return resolve(getattr(find_rule(rules, cell, behaviour, signal), part), lung)

    k = np.zeros(len(K))
    f = geometry.n_epithelial / lung["target_cells_initial"]
    values = {
        "dt": own["time_step_min"].value / 1440.0, "voxel_um": geometry.voxel_um,
        "lung_per_window": geometry.n_voxels / (9.0 * f),
        "virus_infectivity": rule("epithelium_uninfected", "infection"),
        "eclipse_exit": rule("epithelium_eclipse", "start producing virus"),
        "infected_clearance": rule("epithelium_producing", "death", "none"),
        "cd8_clear_infected": rule("epithelium_producing", "death", "cd8_virus_effector_density"),
        "cd8_clear_half": rule("epithelium_producing", "death", "cd8_virus_effector_density", "half_max"),
        "repair": rule("epithelium_dead", "repair"),
        "stat3_rate": rule("dcc", "stat3_activity"), "stat3_half": rule("dcc", "stat3_activity", part="half_max"),
        "stat3_hill": float(find_rule(rules, "dcc", "stat3_activity").hill_power),
        "awakening": rule("dcc_dormant", "transition to hybrid"),
        "progression": rule("dcc_hybrid", "transition to proliferating"),
        "reversion": rule("dcc_hybrid", "transition to dormant"),
        "hybrid_division": rule("dcc_hybrid", "division"), "prolif_division": rule("dcc_proliferating", "division"),
        "dormant_death": lung["dcc_dormant_death"], "awake_death": lung["dcc_awake_death"],
        "killing_rate": rule("dcc_proliferating", "death"),
        "killing_half": rule("dcc_proliferating", "death", part="half_max"),
        "supp_half": rule("dcc_proliferating", "cd8 killing", part="half_max"),
        "neutrophil_death": rule("neutrophil", "death"), "cd4_death": rule("cd4", "death"),
        "cd4_aggregate_death": rule("cd4_aggregate", "death"),
        "cd4_aggregation": rule("cd4", "join a lesion aggregate"),
        "cd4_aggregation_half": rule("cd4", "join a lesion aggregate", part="half_max"),
        "cd8_virus_death": rule("cd8_virus_effector", "death"), "cd8_resting_death": rule("cd8_resting", "death"),
        "antigen_half": rule("cd8_resting", "activation", part="half_max"),
        "cd8_tumour_expansion": rule("cd8_tumour_effector", "division"),
        "cd8_tumour_death": rule("cd8_tumour_effector", "death"),
        "t_speed": own["t_cell_speed_um_per_min"].value, "t_bias": rule("cd4", "chemotaxis"),
        "neutrophil_speed": own["neutrophil_speed_um_per_min"].value,
        "neutrophil_bias": rule("neutrophil", "chemotaxis"),
        "aggregate_speed": own["aggregate_speed_um_per_min"].value,
        "chemotaxis_half": rule("neutrophil", "chemotaxis", part="half_max"),
        "daughter_um": own["daughter_distance_um"].value,
    }
    for name, value in values.items():
        k[K[name]] = value
    return k


def _ki67(kind: np.ndarray, remodelling_at: np.ndarray, lung: dict[str, float]) -> np.ndarray:
    """Division rate relative to a cycling cell (the lung model's Ki67+ read-out), per agent."""
    rate = np.where(kind == agents.DCC_HYBRID, lung["dcc_hybrid_division"],
                    np.where(kind == agents.DCC_PROLIF, lung["dcc_proliferating_division"], 0.0))
    return rate * remodelling_at / lung["cycling_division_rate"]


def simulate_section(experiment: Experiment, lung: dict[str, float], mouse: int, *, voxels: int | None = None,
                     keep_days: tuple[int, ...] = IMAGE_DAYS, movie: bool = False,
                     days: float | None = None) -> SectionRun:
    """One mouse's section through ``experiment`` (``lung``: the mouse's lung-model parameters)."""
    started = time.perf_counter()
    geometry = Geometry.default(voxels)
    own = section_parameters()
    schedule = Schedule.of(experiment)
    seed = (int(experiment.seed) << 16) + mouse
    nv, vox = geometry.voxels, geometry.voxel_um
    f = geometry.n_epithelial / lung["target_cells_initial"]
    lung_per_voxel = geometry.n_voxels / f
    k = _kernel_parameters(lung, geometry)
    dt = k[K["dt"]]
    steps_per_day = int(round(1.0 / dt))
    total_days = float(experiment.days if days is None else days)
    n_steps = int(round(total_days * steps_per_day))
    mech = experiment.mechanisms
    il6_made = 0.0 if schedule.il6_knockout else 1.0
    per_minute = 1440.0

    # fields, in the lung's units (mean over the section = the lung model's variable)
    d_cyto = own["cytokine_diffusion_um2_per_min"].value * per_minute
    fields = Fields({
        "virus": Field(np.zeros((nv, nv)), vox, own["virus_diffusion_um2_per_min"].value * per_minute,
                       lung["virus_clearance"]),
        "il6": Field(np.full((nv, nv), il6_made * lung["il6_baseline"]), vox, d_cyto, lung["il6_clearance"]),
        "chemokine": Field(np.zeros((nv, nv)), vox, d_cyto, own["chemokine_decay_per_min"].value * per_minute),
        "lesion_chemokine": Field(np.zeros((nv, nv)), vox, d_cyto,
                                  own["lesion_chemokine_decay_per_min"].value * per_minute),
        "net_signal": Field(np.full((nv, nv), lung["neutrophil_baseline"]), vox,
                            own["net_signal_diffusion_um2_per_min"].value * per_minute,
                            own["net_signal_decay_per_day"].value),
    })
    net_decay = own["net_signal_decay_per_day"].value
    remodel_rate = float(mech.neutrophil_niche) * lung["laminin_remodelling_rate"]
    remodel_hill = find_rule(load_rules(), "voxel", "laminin remodelling").hill_power

    def remodelling_target(net: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = net**remodel_hill / (net**remodel_hill + lung["laminin_remodelling_half_max"] ** remodel_hill)
        on = remodel_rate * h
        return on / (on + lung["laminin_restoration_rate"]), on + lung["laminin_restoration_rate"]

    remodelling, _ = remodelling_target(fields["net_signal"].values)

    # cells at day 0: the lung at rest, scaled to the section
    ne = nv * geometry.cells_per_voxel
    epithelium = np.zeros((ne, ne), dtype=np.int8)
    vessels = vessel_voxels(geometry, seed)
    capacity = 4096 + 2 * int(geometry.n_epithelial / lung["target_cells_initial"] * (
        lung["neutrophil_baseline"] + lung["cd4_baseline"] + lung["cd8_resting_baseline"]))
    x, y = np.zeros(capacity), np.zeros(capacity)
    kind, uid, stat3 = np.zeros(capacity, dtype=np.int8), np.zeros(capacity, dtype=np.int64), np.zeros(capacity)
    resting = [(agents.NEUTROPHIL, lung["neutrophil_baseline"] * f), (agents.CD4, lung["cd4_baseline"] * f),
               (agents.CD8_RESTING, lung["cd8_resting_baseline"] * f)]
    n_dcc = int(own["dcc_per_section"].value) if schedule.has_dccs else 0
    resting.append((agents.DCC_DORMANT, n_dcc))
    n = 0
    next_uid = np.zeros(len(KINDS), dtype=np.int64)
    for code, count in resting:
        for number in range(int(round(count))):
            uid[n] = (code << 40) + number
            x[n] = uniform(seed, uid[n], 0, 12) * geometry.size_um
            y[n] = uniform(seed, uid[n], 1, 12) * geometry.size_um
            kind[n] = code
            n += 1
        next_uid[code] = int(round(count))
    dcc_scale = lung["dcc_initial"] / own["dcc_per_section"].value
    # the lymph node: the lung model's delayed antigen signal, fed at the lung's scale
    chain = np.zeros(ANTIGEN_CHAIN_STAGES)
    stage_rate = ANTIGEN_CHAIN_STAGES / lung["cd8_expansion_delay"]
    infected = False
    activation = resolve(find_rule(load_rules(), "cd8_resting", "activation").rate, lung)
    antigen_half = resolve(find_rule(load_rules(), "cd8_resting", "activation").half_max, lung)
    suppression_half = resolve(find_rule(load_rules(), "dcc_proliferating", "cd8 killing").half_max, lung)

    rows: list[dict[str, float]] = []
    kept: list[Section] = []
    frames: list[Section] = []
    frame_every = int(round(MOVIE_HOURS / 24.0 * steps_per_day))
    agent_steps = 0

    def snapshot(day: float, with_fields: bool) -> Section:
        c = (x[:n] / vox).astype(np.int64) % nv
        r = (y[:n] / vox).astype(np.int64) % nv
        return Section(day=day, x_um=x[:n].copy(), y_um=y[:n].copy(), kind=kind[:n].copy(), uid=uid[:n].copy(),
                       stat3=stat3[:n].copy(), ki67=_ki67(kind[:n], remodelling[r, c], lung),
                       epithelium=epithelium.copy(),
                       fields={name: fields[name].values.copy() for name in fields.names} if with_fields else
                       {"il6": fields["il6"].values.copy()}, size_um=geometry.size_um)

    def record(day: float) -> None:
        live = kind[:n]
        per_kind = np.bincount(live, minlength=len(KINDS))
        dccs = per_kind[agents.DCC_DORMANT:].sum()
        c = (x[:n] / vox).astype(np.int64) % nv
        r = (y[:n] / vox).astype(np.int64) % nv
        ki67 = _ki67(live, remodelling[r, c], lung)
        denominator = dccs if dccs > 0 else np.inf
        total = dccs * dcc_scale
        rows.append({
            "day": day, "dcc_total": total, "dcc_count": lung["section_sampling_fraction"] * total,
            "mesenchymal_fraction": per_kind[agents.DCC_DORMANT] / denominator,
            "hybrid_fraction": per_kind[agents.DCC_HYBRID] / denominator,
            "epithelial_fraction": per_kind[agents.DCC_PROLIF] / denominator,
            "proliferating_fraction": ki67.sum() / denominator,
            "il6_pg_per_ml": fields["il6"].mean, "virus_titer": fields["virus"].mean,
            "neutrophils": per_kind[agents.NEUTROPHIL] / f,
            "cd4_t_cells": (per_kind[agents.CD4] + per_kind[agents.CD4_AGG]) / f,
            "cd4_aggregate_t_cells": per_kind[agents.CD4_AGG] / f,
            "cd8_t_cells_active": per_kind[agents.CD8_VIRUS] / f + per_kind[agents.CD8_TUMOUR] * dcc_scale,
            "cd8_t_cells_resting": per_kind[agents.CD8_RESTING] / f,
            **{f"section_{name}": int(per_kind[i]) for i, name in enumerate(KINDS)},
            **{f"section_epithelium_{name}": int(np.count_nonzero(epithelium == i))
               for i, name in enumerate(EPITHELIUM)},
        })

    for step in range(n_steps + 1):
        day = step / steps_per_day
        if step % steps_per_day == 0:
            record(day)
            if int(day) in keep_days:
                kept.append(snapshot(day, True))
        if movie and step % frame_every == 0 and day <= 28:
            frames.append(snapshot(day, False))
        if step == n_steps:
            break
        if schedule.infection_day is not None and not infected and day >= schedule.infection_day:
            infected = True
            strain = load_parameter_table(experiment.species).viruses[experiment.virus_kind]
            dose = schedule.dose if schedule.dose is not None else strain.default_dose
            foci = max(int(own["inoculum_foci"].value), int(round(dose * lung["inoculum_infectivity"] * f)))
            cells = np.argsort([uniform(seed, c, 0, 8) for c in range(ne * ne)], kind="stable")[:foci]
            epithelium.ravel()[cells] = agents.ECLIPSE
        # controls and recruitment at the lung's scale
        producing_lung = np.count_nonzero(epithelium == agents.PRODUCING) / f
        dead_lung = np.count_nonzero(epithelium == agents.DEAD) / f
        live = kind[:n]
        cd8_virus_lung = np.count_nonzero(live == agents.CD8_VIRUS) / f
        cue = producing_lung + lung["damage_inflammation_weight"] * dead_lung
        antibody = lung["antibody_depletion_rate"]
        anti_cd4 = antibody * schedule.on("anti_cd4", day)
        anti_cd8 = antibody * schedule.on("anti_cd8", day)
        k[K["neutrophil_death"]] = lung["neutrophil_death"] + lung["neutrophil_depletion_rate"] * schedule.on(
            "anti_ly6g", day)
        k[K["cd4_death"]] = lung["cd4_death"] + anti_cd4
        k[K["cd4_aggregate_death"]] = lung["cd4_aggregate_turnover"] + anti_cd4
        k[K["cd8_virus_death"]] = lung["cd8_effector_death"] + anti_cd8
        k[K["cd8_resting_death"]] = lung["cd8_resting_death"] + anti_cd8
        k[K["cd8_tumour_death"]] = lung["cd8_tumour_effector_death"] + anti_cd8
        k[K["cd4_division"]] = lung["cd4_expansion"] * chain[-1] / (chain[-1] + lung["cd4_expansion_half_sat"])
        k[K["cd8_virus_division"]] = lung["cd8_expansion"] * chain[-1]
        k[K["mech_stat3"]] = float(mech.il6_stat3)
        k[K["mech_killing"]] = float(mech.cd8_killing)
        k[K["mech_supp"]] = float(mech.cd4_suppression)
        k[K["influx_neutrophil"]] = f * (lung["neutrophil_baseline"] * lung["neutrophil_death"]
                                         + lung["neutrophil_recruitment_max"] * cue
                                         / (cue + lung["neutrophil_recruitment_half_sat"]))
        k[K["influx_cd4"]] = f * lung["cd4_baseline"] * lung["cd4_death"]
        k[K["influx_cd8_virus"]] = f * lung["cd8_infiltration"] * producing_lung / (
            lung["cd8_infiltration_half_sat"] + cd8_virus_lung)
        k[K["influx_cd8_resting"]] = f * lung["cd8_resting_baseline"] * lung["cd8_resting_death"]
        k[K["influx_dcc"]] = float(mech.seeding and schedule.has_dccs) * lung["dcc_seeding_rate"] / dcc_scale
        # Tumour-reactive CD8 cells are primed in the draining lymph node by the lung's lesions (the lung
        # model's activation term at the lung's scale) and home to lesions: the section receives its
        # DCCs' share (1 / dcc_scale) of them, as it holds that share of the lung's DCCs.
        lesions_lung = np.count_nonzero(live == agents.DCC_PROLIF) * dcc_scale
        aggregates_lung = np.count_nonzero(live == agents.CD4_AGG) / f
        resting_lung = np.count_nonzero(live == agents.CD8_RESTING) / f
        k[K["influx_cd8_tumour"]] = (activation * lesions_lung / (lesions_lung + antigen_half)
                                     / (1 + float(mech.cd4_suppression) * aggregates_lung / suppression_half)
                                     * resting_lung / dcc_scale)
        chain_in = np.concatenate([[producing_lung], chain[:-1]])
        chain += dt * stage_rate * (chain_in - chain)

        if n * 2 + 1000 > x.size:
            grow = max(2 * x.size, n * 2 + 1000)
            x, y, stat3 = (np.concatenate([a, np.zeros(grow - a.size)]) for a in (x, y, stat3))
            kind = np.concatenate([kind, np.zeros(grow - kind.size, dtype=np.int8)])
            uid = np.concatenate([uid, np.zeros(grow - uid.size, dtype=np.int64)])
        agent_steps += n + ne * ne
        n, counts, producing = agents.advance(
            step, seed, k, epithelium, x, y, kind, uid, stat3, n, next_uid, fields["virus"].values,
            fields["il6"].values, fields["chemokine"].values, fields["lesion_chemokine"].values, remodelling,
            vessels, nv)

        # field sources from the voxel counts at the start of the step
        dead = _dead_per_voxel(epithelium, nv)
        fields.advance(np.stack([
            lung["virus_production"] * producing * lung_per_voxel,
            il6_made * ((lung["il6_per_infected_cell"] * producing + lung["il6_per_damaged_cell"] * dead)
                        * lung_per_voxel + lung["il6_baseline"] * lung["il6_clearance"]),
            producing + lung["damage_inflammation_weight"] * dead,
            (counts[agents.DCC_PROLIF] + counts[agents.DCC_HYBRID]).astype(float),
            counts[agents.NEUTROPHIL] * lung_per_voxel * net_decay]), dt)
        target, rate = remodelling_target(fields["net_signal"].values)
        remodelling = target + (remodelling - target) * np.exp(-rate * dt)

    return SectionRun(readouts=pd.DataFrame(rows), sections=kept, movie=frames,
                      seconds=time.perf_counter() - started, steps=n_steps, agent_steps=agent_steps)


def _dead_per_voxel(epithelium: np.ndarray, nv: int) -> np.ndarray:
    per = epithelium.shape[0] // nv
    dead = (epithelium == agents.DEAD).reshape(nv, per, nv, per)
    return dead.sum(axis=(1, 3)).astype(float)


@dataclass(frozen=True)
class TissueResult(GroupResult):
    """A :class:`~awaken.experiments.results.GroupResult` from sections, with what only sections have:
    ``sections`` (mouse -> the sections kept at :data:`IMAGE_DAYS`), ``movie`` (the first mouse's
    frames) and ``timing`` (seconds and agent-steps per mouse)."""

    sections: dict[int, list[Section]] = field(default_factory=dict)
    movie: list[Section] = field(default_factory=list)
    timing: dict[str, Any] = field(default_factory=dict)

    def write_outputs(self, run: Any) -> list[str]:
        """Images, spatial statistics, per-agent tables and the movie into a run directory."""
        from awaken.tissue.outputs import write_outputs

        return write_outputs(self, run)


def _one_section(experiment: Experiment, lung: dict[str, float], mouse: int, movie: bool) -> SectionRun:
    return simulate_section(experiment, lung, mouse, movie=movie)


def run_group_tissue(experiment: Experiment, progress: Callable[[int], None] | None = None, *,
                     workers: int = 2, scheduler: str | None = None, inline: bool | None = None,
                     movie: bool = True) -> TissueResult:
    """Every mouse of ``experiment`` as a lung section (see the module); sections run in parallel on
    ``workers`` local Dask processes (or ``scheduler``; ``inline`` for one after the other - the
    default for a single mouse)."""
    if experiment.species != "mouse":
        raise InputError.field("species", "the tissue engine simulates mouse lung sections; choose species: mouse",
                               experiment.species)
    for i, treatment in enumerate(experiment.treatments):
        if treatment.kind == "drug":
            raise InputError.field(f"treatments.{i}.kind", "the tissue engine gives depleting antibodies only; "
                                   "a drug course runs on the reference and fast engines (--engine fast)",
                                   treatment.kind)
    execution = Execution(workers=min(workers, experiment.mice) if workers >= 1 else workers, scheduler=scheduler,
                          inline=experiment.mice == 1 if inline is None else inline)
    table = load_parameter_table(experiment.species)
    animals = draw_individuals(table, experiment.virus_kind, experiment.mice, experiment.seed, experiment.parameters,
                               variability=experiment.variability)
    tasks = [(experiment, params, mouse, movie and mouse == 0) for mouse, params in enumerate(animals)]
    runs = execution.map(_one_section, tasks, advance=progress, name="tissue")
    frames = []
    for mouse, section_run in enumerate(runs):
        frame = section_run.readouts.copy()
        frame.insert(0, "mouse", np.int32(mouse))
        frames.append(frame)
    per_mouse = pd.concat(frames, ignore_index=True)
    ordered = ["mouse", "day", *READOUTS, *[c for c in per_mouse.columns if c.startswith("section_")]]
    parameters = pd.DataFrame([{"mouse": mouse, **params} for mouse, params in enumerate(animals)])
    timing = {"seconds_per_mouse": [r.seconds for r in runs], "steps": runs[0].steps,
              "agent_steps_per_mouse": [r.agent_steps for r in runs], **execution.description}
    return TissueResult(experiment=experiment, per_mouse=per_mouse[ordered], parameters=parameters, engine="tissue",
                        sections={m: r.sections for m, r in enumerate(runs)}, movie=runs[0].movie, timing=timing)
