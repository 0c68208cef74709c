"""The Python API for scripts and notebooks."""

from __future__ import annotations

import numpy as np
import pytest

import awaken
from awaken.errors import InputError
from awaken.experiments.catalogue import load_experiment, with_overrides
from awaken.lung.parameters import load_parameter_table

REQUIRED_COLUMNS = ("day", "dcc_count", "proliferating_fraction", "mesenchymal_fraction", "hybrid_fraction",
                    "il6_pg_per_ml", "virus_titer", "cd4_t_cells", "cd8_t_cells_active")


def test_list_experiments_names_the_study_groups():
    assert {"pbs", "influenza", "sars_cov_2", "il6_ko_pbs", "il6_ko_influenza", "neutrophil_depleted_influenza",
            "igg_influenza", "anti_cd4_influenza", "anti_cd8_influenza"} <= set(awaken.list_experiments())


def test_run_experiment_returns_one_row_per_day_with_the_readouts():
    result = awaken.run_experiment("influenza", days=20, seed=2, mice=2)
    tc = result.timecourse
    assert set(REQUIRED_COLUMNS) <= set(tc.columns)
    assert list(tc["day"]) == list(range(21))
    fractions = tc["mesenchymal_fraction"] + tc["hybrid_fraction"] + tc["epithelial_fraction"]
    np.testing.assert_allclose(fractions, 1.0, rtol=1e-9)
    assert result.per_mouse["mouse"].nunique() == 2
    assert len(result.parameters) == 2


def test_timecourse_is_the_mean_of_the_mice():
    result = awaken.run_experiment("pbs", days=5, seed=0, mice=3)
    expected = result.per_mouse.groupby("day")["dcc_count"].mean().to_numpy()
    np.testing.assert_allclose(result.timecourse["dcc_count"], expected)


def test_run_experiment_rejects_bad_settings():
    with pytest.raises(InputError, match="days = 0"):
        awaken.run_experiment("pbs", days=0)
    with pytest.raises(InputError, match="mice = 0"):
        awaken.run_experiment("pbs", days=5, mice=0)
    with pytest.raises(InputError, match="unknown experiment"):
        awaken.run_experiment("no_such_thing")


def test_same_seed_same_mice_different_seed_different_mice():
    a = awaken.run_experiment("influenza", days=15, seed=5, mice=2).per_mouse
    b = awaken.run_experiment("influenza", days=15, seed=5, mice=2).per_mouse
    c = awaken.run_experiment("influenza", days=15, seed=6, mice=2).per_mouse
    assert a.equals(b)
    assert not np.allclose(a["dcc_count"], c["dcc_count"])


def test_groups_share_their_mice_so_differences_are_the_treatment():
    """Common random numbers: with one seed, mouse i has the same parameters in every group."""
    pbs = awaken.run_experiment("pbs", days=5, seed=9, mice=3).parameters
    flu = awaken.run_experiment("influenza", days=5, seed=9, mice=3).parameters
    assert pbs.equals(flu)



def test_without_variability_every_mouse_is_the_typical_mouse():
    scenario = with_overrides(load_experiment("pbs"), days=3, mice=2, variability=False)
    result = awaken.run_experiment(scenario)
    nominal = load_parameter_table("mouse").nominal("influenza_a_pr8")
    for _, row in result.parameters.iterrows():
        assert {k: row[k] for k in nominal} == nominal
