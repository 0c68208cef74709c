"""The study's claims, seen in lung sections (the tissue engine).

Each test runs a few sections of a shipped experiment and reads them as the study did: counts of
HER2+ cells and their phenotypes, and where CD4 and CD8 T cells sit relative to the lesions. The
published observations themselves are scored on this engine by the scorecard (targets.yaml).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from awaken.experiments.catalogue import load_experiment, with_overrides
from awaken.tissue.agents import CD4, CD4_AGG, CD8_TUMOUR, DCC_DORMANT, DCC_PROLIF
from awaken.tissue.spatial_statistics import nearest_distances, section_statistics


@lru_cache(maxsize=None)
def sections(name: str, days: int = 15, mice: int = 1, variability: bool = True):
    from awaken.tissue.engine import run_group_tissue

    experiment = with_overrides(load_experiment(name), days=days, mice=mice)
    if not variability:
        experiment = experiment.model_copy(update={"variability": False})
    return run_group_tissue(experiment, inline=True, movie=False)


def _at(result, day):
    return next(s for s in result.sections[0] if s.day == day)


def test_pbs_sections_keep_a_few_dormant_dccs():
    pbs = sections("pbs", days=15)
    assert pbs.at(15, "dcc_count") == pytest.approx(pbs.at(0, "dcc_count"), rel=0.1)
    assert pbs.at(15, "mesenchymal_fraction") > 0.95


def test_influenza_wakes_dccs_into_lesions_within_two_weeks():
    flu, pbs = sections("influenza", mice=2), sections("pbs", days=15)
    assert flu.at(9, "mesenchymal_fraction") < 0.5 < flu.at(0, "mesenchymal_fraction")
    assert flu.at(9, "hybrid_fraction") > 0.2
    assert flu.at(15, "dcc_count") / pbs.at(15, "dcc_count") > 20


def test_il6_knockout_sections_keep_dccs_dormant():
    knockout = sections("il6_ko_influenza", mice=2)
    assert knockout.at(9, "mesenchymal_fraction") > 0.9
    assert knockout.at(15, "dcc_count") / knockout.at(0, "dcc_count") < 3
    assert _at(knockout, 9).stat3[_at(knockout, 9).kind >= 6].max() < 0.1


def test_without_neutrophils_awakened_dccs_do_not_grow_into_lesions():
    depleted, flu = sections("neutrophil_depleted_influenza"), sections("influenza", mice=2)
    assert depleted.at(9, "mesenchymal_fraction") < 0.5  # IL-6 still wakes them ...
    assert depleted.at(15, "dcc_count") < 0.2 * flu.at(15, "dcc_count")  # ... but the matrix lets none divide


def test_cd4_aggregates_form_next_to_proliferating_dccs():
    section = _at(sections("influenza", mice=2), 15)
    statistics = section_statistics(section)
    assert statistics["cd4_aggregates"] >= 1
    cd4 = np.column_stack([section.x_um, section.y_um])[(section.kind == CD4) | (section.kind == CD4_AGG)]
    lesions = np.column_stack([section.x_um, section.y_um])[section.kind == DCC_PROLIF]
    anywhere = np.random.default_rng(0).uniform(0, section.size_um, (1000, 2))
    assert np.median(nearest_distances(lesions, cd4, section.size_um)) < 0.5 * np.median(
        nearest_distances(anywhere, cd4, section.size_um))
    assert statistics["dcc_cd4_g_20um"] > 2  # far more CD4 cells near DCCs than complete spatial randomness


def test_anti_cd4_from_9_dpi_lets_cd8_cells_reach_the_lesions():
    def cd8_at_lesions(result):
        section = _at(result, 15)
        xy = np.column_stack([section.x_um, section.y_um])
        effectors = xy[section.kind == CD8_TUMOUR]
        return int(np.sum(nearest_distances(effectors, xy[section.kind >= DCC_DORMANT], section.size_um) <= 30))

    treated, control = sections("anti_cd4_influenza", days=20), sections("igg_influenza", days=20)
    assert treated.at(15, "cd4_aggregate_t_cells") < 0.2 * control.at(15, "cd4_aggregate_t_cells")
    assert cd8_at_lesions(treated) > 3 * max(cd8_at_lesions(control), 1)
    assert treated.at(20, "dcc_count") < 0.5 * control.at(20, "dcc_count")


def test_the_section_follows_the_lung_model_it_is_a_part_of():
    """One system at two scales: the typical mouse's section against the same mouse's lung model."""
    from awaken.solvers.batch import run_group_fast

    section = sections("influenza", variability=False)
    lung = run_group_fast(section.experiment)
    for readout, day, tolerance in [("il6_pg_per_ml", 3, 0.25), ("neutrophils", 5, 0.25), ("il6_pg_per_ml", 9, 0.25),
                                    ]:
        assert section.at(day, readout) == pytest.approx(lung.at(day, readout), rel=tolerance), (readout, day)
    assert section.at(5, "mesenchymal_fraction") == pytest.approx(lung.at(5, "mesenchymal_fraction"), abs=0.15)
    fold = section.at(15, "dcc_count") / section.at(0, "dcc_count")
    assert fold == pytest.approx(lung.at(15, "dcc_count") / lung.at(0, "dcc_count"), rel=0.6)


@pytest.mark.slow
def test_the_scorecard_scores_the_tissue_through_the_same_code():
    """M1-M11 on sections (4 a group, as the study's groups): all but M8's late part pass
    (docs/tissue.md says why: CD8 killing is local, lesions no effector reaches grow on)."""
    from awaken.api.experiments import score_targets

    card = score_targets(mice=4, seed=0, days=28, engine="tissue")
    assert card.failed("mouse") == ["M8_cd4_maintains"]
    m8 = next(s for s in card.mouse if s.id == "M8_cd4_maintains")
    assert m8.parts == {"late": False, "early": True} and m8.simulated["late"] < 0.7
