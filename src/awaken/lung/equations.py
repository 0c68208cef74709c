"""Every equation of awaken's lung model, written once.

The model couples four published or well-motivated blocks, all in units of days:

* **Virus and epithelium** - the target-cell-limited influenza model with an eclipse phase and a
  delayed, density-dependent CD8 response of Myers et al. 2021 (eLife 10:e68864), itself built on
  Smith et al. 2018 (Front Microbiol 9:1554). The fixed delay of the published delay-differential
  equation is replaced by an Erlang chain of three antigen-presentation stages with the same mean
  delay, so that the whole model is an ODE (and exports to SBML). Dead epithelial cells become
  *epithelial damage*, which is repaired over about a week and keeps inflammation going after the
  virus is gone (IL-6 in lavage "remained at elevated levels throughout infection", Hennet et al.
  1992, J Immunol 149:932).
* **Inflammation** - IL-6 (pg/mL lavage fluid) made by infected cells and by the injured lung;
  neutrophils recruited by infection and injury; NET-remodelled laminin, the pro-awakening matrix
  that neutrophil extracellular traps leave behind (Albrengues et al. 2018, Science 361:eaao4227);
  STAT3 activity in disseminated cancer cells (DCCs), driven by IL-6.
* **T cells** - virus-specific CD8 effectors (Myers 2021); resting and activated tumour-reactive
  CD8 T cells that kill proliferating cancer cells; CD4 T cells that expand with the infection and
  gather in aggregates next to lesions, where they hold back CD8 activation and cytotoxicity
  (Chia et al. 2025).
* **Disseminated cancer cells** - dormant mesenchymal (vimentin+, not dividing) -> hybrid E/M
  (awakening, dividing) -> proliferating epithelial-like lesion cells, driven forward by STAT3
  activity, dividing only where the matrix is remodelled, returning to dormancy as IL-6 signalling
  fades (Chia et al. 2025).

The single source is :func:`reactions`: a list of reactions, each with a rate and a stoichiometry.
It is plain arithmetic, so it evaluates on NumPy arrays (any batch shape) and on SymPy symbols
alike; the ODE right-hand side, its Jacobian, the read-outs and any export are derived from it.

Example
-------
>>> from awaken.lung.equations import STATE_NAMES, reactions
>>> len(STATE_NAMES)
20
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

__all__ = [
    "State",
    "Reaction",
    "STATES",
    "STATE_NAMES",
    "DCC_STATES",
    "CONTROLS",
    "DRUG_CONTROLS",
    "READOUTS",
    "hill",
    "reactions",
    "readouts",
    "initial_guess",
]

#: Number of stages in the Erlang chain that replaces Myers et al.'s fixed CD8 expansion delay.
ANTIGEN_CHAIN_STAGES = 3
#: Hill coefficients are structural integers (not fitted): an integer power keeps the exact
#: Jacobian finite at zero (IL-6 knockout, neutrophil depletion).
STAT3_HILL_COEFFICIENT = 3  # cooperative response: resting IL-6 does not wake DCCs
NET_HILL_COEFFICIENT = 4  # NETs form at inflammatory, not resting, neutrophil numbers (steep switch)


@dataclass(frozen=True)
class State:
    """A state variable of the lung model."""

    name: str
    unit: str
    description: str
    block: str
    symbol: str  # for equations in the documentation


STATES: tuple[State, ...] = (
    State("target_cells", "cell", "uninfected target epithelial cells", "virus", "T"),
    State("infected_eclipse", "cell", "infected epithelial cells in the eclipse phase, not yet producing virus", "virus", "I_1"),
    State("infected_productive", "cell", "infected epithelial cells producing virus", "virus", "I_2"),
    State("virus", "infectious unit/mL", "infectious virus in lung homogenate (TCID50/mL for influenza, PFU/mL for SARS-CoV-2)", "virus", "V"),
    State("epithelial_damage", "cell", "epithelial cells lost to infection and not yet repaired", "virus", "D_epi"),
    *(
        State(
            f"antigen_presentation_{i}",
            "cell",
            f"stage {i} of {ANTIGEN_CHAIN_STAGES} of the delayed infected-cell antigen signal that primes T cells",
            "virus",
            f"G_{i}",
        )
        for i in range(1, ANTIGEN_CHAIN_STAGES + 1)
    ),
    State("il6", "pg/mL", "IL-6 in bronchoalveolar lavage fluid", "inflammation", "L"),
    State("neutrophils", "cell", "neutrophils in the lung", "inflammation", "N"),
    State("laminin_remodelling", "dimensionless", "fraction of the DCC niche matrix remodelled by neutrophil extracellular traps (0-1)", "inflammation", "R"),
    State("stat3_activity", "dimensionless", "IL-6-driven STAT3 activity in DCCs (0-1)", "inflammation", "S"),
    State("cd8_virus_effector", "cell", "virus-specific effector CD8 T cells in the lung", "t_cells", "E_v"),
    State("cd8_resting", "cell", "resting CD8 T cells able to recognise tumour antigen", "t_cells", "R_8"),
    State("cd8_tumour_effector", "cell", "activated, cytotoxic tumour-reactive CD8 T cells", "t_cells", "E_t"),
    State("cd4_lung", "cell", "CD4 T cells in the lung outside lesion aggregates", "t_cells", "C_4"),
    State("cd4_aggregate", "cell", "CD4 T cells in lymphoid aggregates next to expanding cancer cells", "t_cells", "A_4"),
    State("dcc_dormant", "cell", "dormant mesenchymal (vimentin+) disseminated cancer cells, not dividing", "dcc", "D"),
    State("dcc_hybrid", "cell", "hybrid epithelial/mesenchymal awakening DCCs, dividing", "dcc", "H"),
    State("dcc_proliferating", "cell", "proliferating epithelial-like lesion cells", "dcc", "P"),
)
STATE_NAMES: tuple[str, ...] = tuple(s.name for s in STATES)
DCC_STATES: tuple[str, ...] = ("dcc_dormant", "dcc_hybrid", "dcc_proliferating")

#: Parameters that schedules switch on and off during a run (antibodies from a given day,
#: genotypes, mechanism ablations). They are ordinary parameters of the equations whose values the
#: experiment sets piecewise in time; see :mod:`awaken.solvers.schedule`.
CONTROLS: tuple[str, ...] = (
    "virus_exposed",
    "anti_cd4_on",
    "anti_cd8_on",
    "anti_ly6g_on",
    "il6_knockout",
    "mechanism_il6_stat3",
    "mechanism_neutrophil_niche",
    "mechanism_cd8_killing",
    "mechanism_cd4_suppression",
    "mechanism_seeding",
    # drugs (awaken.pharmacology): the share of each target a course blocks, piecewise in time
    "il6r_blockade",
    "il6_neutralisation",
    "jak_inhibition",
    "antiviral_efficacy",
    "il6_clearance_lost",
    "neutrophil_supply_lost",
    "virus_cd8_expansion_lost",
)
#: Controls a drug course drives (:mod:`awaken.pharmacology`, which computes them from the drug's
#: concentration): control -> what a value of 1 means. All are 0 without drugs.
DRUG_CONTROLS: dict[str, str] = {
    "il6r_blockade": "every IL-6 receptor occupied by an anti-IL-6R antibody (tocilizumab, sarilumab; MR16-1 in mice)",
    "il6_neutralisation": "all IL-6 bound by an anti-IL-6 antibody (siltuximab)",
    "jak_inhibition": "IL-6 -> JAK1/2 -> STAT3 signalling fully inhibited (baricitinib, ruxolitinib)",
    "antiviral_efficacy": "virion production fully blocked (oseltamivir, nirmatrelvir/ritonavir)",
    "il6_clearance_lost": "no IL-6 cleared (receptor-mediated clearance lost under IL-6R blockade: lavage IL-6 rises)",
    "neutrophil_supply_lost": "no neutrophils released into the lung (IL-6 pathway blockade lowers neutrophil counts)",
    "virus_cd8_expansion_lost": "no virus-specific CD8 expansion (the harm of slower viral clearance under IL-6 pathway blockade)",
}


@dataclass(frozen=True)
class Reaction:
    """One process of the model: ``rate`` (per day) moves ``change[state]`` units of each state.

    ``process`` classifies the reaction so that invariants can be checked (e.g. DCC *transitions*
    conserve cells; only *division*, *death*, *killing* and *seeding* change the DCC total).
    """

    name: str
    rate: Any
    change: dict[str, float]
    process: str


def hill(x: Any, half_max: Any, n: Any) -> Any:
    """Hill activation ``x^n / (x^n + K^n)``; valid for numbers, arrays and SymPy expressions."""
    xn = x**n
    return xn / (xn + half_max**n)


def _tumour_antigen(s: SimpleNamespace, p: SimpleNamespace) -> Any:
    # Only proliferating lesion cells present antigen; dormant DCCs are MHC-I low and evade T cells.
    return s.dcc_proliferating / (s.dcc_proliferating + p.tumour_antigen_half_max)


def _cd4_suppression(s: SimpleNamespace, p: SimpleNamespace) -> Any:
    # Factor (0-1] by which lesion-adjacent CD4 aggregates scale CD8 activation and cytotoxicity.
    return 1 / (1 + p.mechanism_cd4_suppression * s.cd4_aggregate / p.cd4_suppression_half_max)


def reactions(s: SimpleNamespace, p: SimpleNamespace) -> list[Reaction]:
    """The lung model as reactions. ``s`` holds states, ``p`` parameters and controls, by name."""
    stage_rate = ANTIGEN_CHAIN_STAGES / p.cd8_expansion_delay
    il6_made = 1 - p.il6_knockout
    inflammation_cue = s.infected_productive + p.damage_inflammation_weight * s.epithelial_damage
    # Drugs (every factor is exactly 1 without them; awaken.pharmacology sets the controls): IL-6 that
    # reaches DCC receptors, IL-6 clearance left (most goes through the receptor: Nishimoto et al. 2008),
    # neutrophil supply left, virus-specific CD8 expansion left, virion production left.
    il6_signal = s.il6 * (1 - p.il6r_blockade) * (1 - p.il6_neutralisation)
    il6_clearance = p.il6_clearance * (1 - p.il6_clearance_lost)
    neutrophil_supply = 1 - p.neutrophil_supply_lost
    antigen = _tumour_antigen(s, p)
    suppression = _cd4_suppression(s, p)
    chain = [getattr(s, f"antigen_presentation_{i}") for i in range(1, ANTIGEN_CHAIN_STAGES + 1)]

    r = [
        # --- virus and epithelium (Myers et al. 2021) ---
        # Infection is gated by exposure: the uninfected lung is unstable to virus (within-host R0 > 1),
        # so without the gate a round-off speck of virus could start an infection on its own.
        Reaction("infection", p.virus_exposed * p.virus_infectivity * s.target_cells * s.virus,
                 {"target_cells": -1, "infected_eclipse": 1}, "infection"),
        Reaction("eclipse_exit", p.eclipse_exit_rate * s.infected_eclipse,
                 {"infected_eclipse": -1, "infected_productive": 1}, "infection"),
        Reaction("innate_clearance_of_infected", p.infected_cell_clearance * s.infected_productive,
                 {"infected_productive": -1, "epithelial_damage": 1}, "death"),
        Reaction("cd8_clearance_of_infected",
                 p.cd8_clearance_of_infected * s.cd8_virus_effector * s.infected_productive
                 / (p.cd8_clearance_half_sat + s.infected_productive),
                 {"infected_productive": -1, "epithelial_damage": 1}, "killing"),
        Reaction("virus_production", p.virus_production * (1 - p.antiviral_efficacy) * s.infected_productive,
                 {"virus": 1}, "production"),
        Reaction("virus_clearance", p.virus_clearance * s.virus, {"virus": -1}, "clearance"),
        Reaction("epithelial_repair", p.epithelial_repair_rate * s.epithelial_damage,
                 {"epithelial_damage": -1}, "repair"),
        Reaction("antigen_uptake", stage_rate * s.infected_productive, {"antigen_presentation_1": 1}, "production"),
        *(
            Reaction(f"antigen_transit_{i + 1}", stage_rate * chain[i],
                     {f"antigen_presentation_{i + 1}": -1, f"antigen_presentation_{i + 2}": 1}, "transition")
            for i in range(ANTIGEN_CHAIN_STAGES - 1)
        ),
        Reaction("antigen_decay", stage_rate * chain[-1], {f"antigen_presentation_{ANTIGEN_CHAIN_STAGES}": -1}, "clearance"),
        # --- virus-specific CD8 T cells (Myers et al. 2021) ---
        Reaction("cd8_virus_infiltration",
                 p.cd8_infiltration * s.infected_productive / (p.cd8_infiltration_half_sat + s.cd8_virus_effector),
                 {"cd8_virus_effector": 1}, "influx"),
        Reaction("cd8_virus_expansion",
                 p.cd8_expansion * (1 - p.virus_cd8_expansion_lost) * s.cd8_virus_effector * chain[-1],
                 {"cd8_virus_effector": 1}, "division"),
        Reaction("cd8_virus_death", p.cd8_effector_death * s.cd8_virus_effector, {"cd8_virus_effector": -1}, "death"),
        Reaction("cd8_virus_depletion", p.anti_cd8_on * p.antibody_depletion_rate * s.cd8_virus_effector,
                 {"cd8_virus_effector": -1}, "depletion"),
        # --- IL-6 ---
        Reaction("il6_basal_secretion", il6_made * p.il6_baseline * p.il6_clearance, {"il6": 1}, "production"),
        Reaction("il6_secretion_by_infected", il6_made * p.il6_per_infected_cell * s.infected_productive,
                 {"il6": 1}, "production"),
        Reaction("il6_secretion_by_injured_lung", il6_made * p.il6_per_damaged_cell * s.epithelial_damage,
                 {"il6": 1}, "production"),
        Reaction("il6_clearance", il6_clearance * s.il6, {"il6": -1}, "clearance"),
        # --- neutrophils and NET-remodelled laminin (Albrengues et al. 2018) ---
        Reaction("neutrophil_basal_influx", neutrophil_supply * p.neutrophil_baseline * p.neutrophil_death,
                 {"neutrophils": 1}, "influx"),
        Reaction("neutrophil_recruitment",
                 neutrophil_supply * p.neutrophil_recruitment_max * inflammation_cue
                 / (inflammation_cue + p.neutrophil_recruitment_half_sat),
                 {"neutrophils": 1}, "influx"),
        Reaction("neutrophil_death", p.neutrophil_death * s.neutrophils, {"neutrophils": -1}, "death"),
        Reaction("neutrophil_depletion", p.anti_ly6g_on * p.neutrophil_depletion_rate * s.neutrophils,
                 {"neutrophils": -1}, "depletion"),
        Reaction("laminin_remodelling_by_nets",
                 p.mechanism_neutrophil_niche * p.laminin_remodelling_rate
                 * hill(s.neutrophils, p.laminin_remodelling_half_max, NET_HILL_COEFFICIENT) * (1 - s.laminin_remodelling),
                 {"laminin_remodelling": 1}, "production"),
        Reaction("laminin_restoration", p.laminin_restoration_rate * s.laminin_remodelling,
                 {"laminin_remodelling": -1}, "clearance"),
        # --- STAT3 in DCCs ---
        Reaction("stat3_activation",
                 p.mechanism_il6_stat3 * p.stat3_response_rate * (1 - p.jak_inhibition)
                 * hill(il6_signal, p.stat3_il6_half_max, STAT3_HILL_COEFFICIENT),
                 {"stat3_activity": 1}, "production"),
        Reaction("stat3_deactivation", p.stat3_response_rate * s.stat3_activity, {"stat3_activity": -1}, "clearance"),
        # --- CD4 T cells ---
        Reaction("cd4_basal_influx", p.cd4_baseline * p.cd4_death, {"cd4_lung": 1}, "influx"),
        Reaction("cd4_expansion",
                 p.cd4_expansion * s.cd4_lung * chain[-1] / (chain[-1] + p.cd4_expansion_half_sat),
                 {"cd4_lung": 1}, "division"),
        Reaction("cd4_death", p.cd4_death * s.cd4_lung, {"cd4_lung": -1}, "death"),
        Reaction("cd4_aggregation_at_lesions",
                 p.cd4_aggregation_rate * s.cd4_lung * s.dcc_proliferating
                 / (s.dcc_proliferating + p.cd4_aggregation_half_sat),
                 {"cd4_lung": -1, "cd4_aggregate": 1}, "transition"),
        Reaction("cd4_aggregate_turnover", p.cd4_aggregate_turnover * s.cd4_aggregate, {"cd4_aggregate": -1}, "death"),
        Reaction("cd4_depletion", p.anti_cd4_on * p.antibody_depletion_rate * s.cd4_lung, {"cd4_lung": -1}, "depletion"),
        Reaction("cd4_aggregate_depletion", p.anti_cd4_on * p.antibody_depletion_rate * s.cd4_aggregate,
                 {"cd4_aggregate": -1}, "depletion"),
        # --- tumour-reactive CD8 T cells ---
        Reaction("cd8_resting_influx", p.cd8_resting_baseline * p.cd8_resting_death, {"cd8_resting": 1}, "influx"),
        Reaction("cd8_resting_death", p.cd8_resting_death * s.cd8_resting, {"cd8_resting": -1}, "death"),
        Reaction("cd8_tumour_activation", p.cd8_tumour_activation * antigen * suppression * s.cd8_resting,
                 {"cd8_resting": -1, "cd8_tumour_effector": 1}, "transition"),
        Reaction("cd8_tumour_expansion", p.cd8_tumour_expansion * antigen * suppression * s.cd8_tumour_effector,
                 {"cd8_tumour_effector": 1}, "division"),
        Reaction("cd8_tumour_death", p.cd8_tumour_effector_death * s.cd8_tumour_effector,
                 {"cd8_tumour_effector": -1}, "death"),
        Reaction("cd8_resting_depletion", p.anti_cd8_on * p.antibody_depletion_rate * s.cd8_resting,
                 {"cd8_resting": -1}, "depletion"),
        Reaction("cd8_tumour_depletion", p.anti_cd8_on * p.antibody_depletion_rate * s.cd8_tumour_effector,
                 {"cd8_tumour_effector": -1}, "depletion"),
        # --- disseminated cancer cells (Chia et al. 2025) ---
        Reaction("dcc_seeding", p.mechanism_seeding * p.dcc_seeding_rate, {"dcc_dormant": 1}, "seeding"),
        Reaction("dcc_awakening", p.dcc_awakening_rate * s.stat3_activity * s.dcc_dormant,
                 {"dcc_dormant": -1, "dcc_hybrid": 1}, "transition"),
        Reaction("dcc_epithelial_progression", p.dcc_progression_rate * s.stat3_activity * s.dcc_hybrid,
                 {"dcc_hybrid": -1, "dcc_proliferating": 1}, "transition"),
        Reaction("dcc_return_to_hybrid", p.dcc_reversion_rate * (1 - s.stat3_activity) * s.dcc_proliferating,
                 {"dcc_proliferating": -1, "dcc_hybrid": 1}, "transition"),
        Reaction("dcc_return_to_dormancy", p.dcc_reversion_rate * (1 - s.stat3_activity) * s.dcc_hybrid,
                 {"dcc_hybrid": -1, "dcc_dormant": 1}, "transition"),
        Reaction("dcc_hybrid_division", p.dcc_hybrid_division * s.laminin_remodelling * s.dcc_hybrid,
                 {"dcc_hybrid": 1}, "division"),
        Reaction("dcc_proliferating_division", p.dcc_proliferating_division * s.laminin_remodelling * s.dcc_proliferating,
                 {"dcc_proliferating": 1}, "division"),
        Reaction("dcc_dormant_death", p.dcc_dormant_death * s.dcc_dormant, {"dcc_dormant": -1}, "death"),
        Reaction("dcc_hybrid_death", p.dcc_awake_death * s.dcc_hybrid, {"dcc_hybrid": -1}, "death"),
        Reaction("dcc_proliferating_death", p.dcc_awake_death * s.dcc_proliferating, {"dcc_proliferating": -1}, "death"),
        Reaction("cd8_killing_of_dccs",
                 p.mechanism_cd8_killing * p.cd8_killing_rate * suppression * s.cd8_tumour_effector
                 * s.dcc_proliferating / (s.dcc_proliferating + p.cd8_killing_half_sat),
                 {"dcc_proliferating": -1}, "killing"),
    ]
    return r


#: Read-outs: name -> (unit, description). Their formulas are in :func:`readouts`.
READOUTS: dict[str, tuple[str, str]] = {
    "dcc_total": ("cell", "all disseminated cancer cells in the lung"),
    "dcc_count": ("cell", "HER2+ DCCs a three-section immunofluorescence read-out would see (expected count)"),
    "mesenchymal_fraction": ("dimensionless", "fraction of DCCs that are dormant mesenchymal (vimentin+)"),
    "hybrid_fraction": ("dimensionless", "fraction of DCCs in the hybrid E/M state"),
    "epithelial_fraction": ("dimensionless", "fraction of DCCs that are proliferating epithelial-like lesion cells"),
    "proliferating_fraction": ("dimensionless", "fraction of DCCs in cycle (Ki67+): division rate / cycling-cell division rate"),
    "il6_pg_per_ml": ("pg/mL", "IL-6 in bronchoalveolar lavage fluid"),
    "virus_titer": ("infectious unit/mL", "infectious virus in lung homogenate"),
    "neutrophils": ("cell", "neutrophils in the lung"),
    "cd4_t_cells": ("cell", "all CD4 T cells in the lung (including lesion aggregates)"),
    "cd4_aggregate_t_cells": ("cell", "CD4 T cells in lesion-adjacent aggregates"),
    "cd8_t_cells_active": ("cell", "activated CD8 T cells (virus-specific and tumour-reactive effectors)"),
    "cd8_t_cells_resting": ("cell", "resting CD8 T cells"),
}


def readouts(s: SimpleNamespace, p: SimpleNamespace) -> dict[str, Any]:
    """The observable quantities, as formulas of states and parameters (SBML assignment rules)."""
    total = s.dcc_dormant + s.dcc_hybrid + s.dcc_proliferating
    # Guard 0/0 (no DCCs, e.g. wild-type mice) without a branch so that the same formula is valid
    # symbolically; the guard is 1e-12 cells, far below any meaningful count.
    denom = total + 1e-12
    dividing = s.laminin_remodelling * (
        p.dcc_hybrid_division * s.dcc_hybrid + p.dcc_proliferating_division * s.dcc_proliferating
    )
    return {
        "dcc_total": total,
        "dcc_count": p.section_sampling_fraction * total,
        "mesenchymal_fraction": s.dcc_dormant / denom,
        "hybrid_fraction": s.dcc_hybrid / denom,
        "epithelial_fraction": s.dcc_proliferating / denom,
        "proliferating_fraction": dividing / (p.cycling_division_rate * denom),
        "il6_pg_per_ml": s.il6,
        "virus_titer": s.virus,
        "neutrophils": s.neutrophils,
        "cd4_t_cells": s.cd4_lung + s.cd4_aggregate,
        "cd4_aggregate_t_cells": s.cd4_aggregate,
        "cd8_t_cells_active": s.cd8_virus_effector + s.cd8_tumour_effector,
        "cd8_t_cells_resting": s.cd8_resting,
    }


def initial_guess(p: Mapping[str, Any]) -> dict[str, Any]:
    """Uninfected starting point, before pre-equilibration (see :func:`awaken.solvers.reference.initial_state`).

    Every state not named here starts at zero (no infection, no effectors, no awakened DCCs). Plain
    arithmetic: ``p`` may hold numbers or arrays (one value per individual).
    """
    guess = {name: 0.0 for name in STATE_NAMES}
    guess.update(
        target_cells=p["target_cells_initial"],
        il6=(1 - p["il6_knockout"]) * p["il6_baseline"],
        neutrophils=p["neutrophil_baseline"],
        cd4_lung=p["cd4_baseline"],
        cd8_resting=p["cd8_resting_baseline"],
        dcc_dormant=p["dcc_initial"],
    )
    return guess
