"""The tissue engine: its numerics, its determinism, its contract and its outputs.

The study's claims on sections are in tests/test_tissue_claims.py."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from awaken.errors import InputError
from awaken.experiments.catalogue import load_experiment, with_overrides
from awaken.experiments.results import TIMECOURSE_COLUMNS, check_result
from awaken.tissue.fields import Field
from awaken.tissue.rules import load_rules, resolve, section_parameters


def _periodic_gaussian(x, y, size, width2):
    return sum(np.exp(-((x + i * size) ** 2 + (y + j * size) ** 2) / (4 * width2))
               for i in (-1, 0, 1) for j in (-1, 0, 1))


@pytest.mark.parametrize("voxel_um, tolerance", [(20.0, 8e-3), (10.0, 2e-3), (5.0, 5e-4)])
def test_the_diffusion_solver_matches_a_decaying_gaussian(voxel_um, tolerance):
    """u_t = D lap u - lambda u from a Gaussian: (a / (a + D t)) exp(-r^2 / 4(a + D t)) exp(-lambda t);
    second-order in the voxel size, exact in time (five steps or one give the same)."""
    n = int(640 / voxel_um)
    centres = (np.arange(n) - n / 2) * voxel_um
    x, y = np.meshgrid(centres, centres)
    d_um2_per_day, decay, a, t = 100.0 * 1440, 2.0, 400.0, 0.05
    field = Field(_periodic_gaussian(x, y, n * voxel_um, a), voxel_um, d_um2_per_day, decay)
    for _ in range(5):
        field.advance(None, t / 5)
    exact = a / (a + d_um2_per_day * t) * _periodic_gaussian(x, y, n * voxel_um, a + d_um2_per_day * t) * np.exp(-decay * t)
    assert np.abs(field.values - exact).max() / exact.max() < tolerance


def test_the_diffusion_solver_reaches_the_steady_state_of_a_uniform_source_and_stays_non_negative():
    field = Field(np.zeros((16, 16)), 20.0, 1e6, 16.6)
    point = np.zeros((16, 16))
    point[3, 4] = 16.6 * 256
    for _ in range(200):  # 200 steps of 6 min: any step size is stable (exact integration)
        field.advance(point, 6 / 1440)
    assert field.values.min() >= 0.0
    assert field.mean == pytest.approx(1.0, rel=1e-6)  # mean source / decay


def test_every_rule_and_parameter_has_units_range_and_source():
    for p in section_parameters().values():
        assert p.unit and p.source and p.range[0] <= p.value <= p.range[1]
    from awaken.lung.parameters import load_parameter_table

    lung = load_parameter_table("mouse").nominal("influenza_a_pr8")
    for rule in load_rules():
        assert rule.source and rule.direction in ("increases", "decreases", "none")
        assert resolve(rule.rate, lung) >= 0
        if rule.half_max:
            assert resolve(rule.half_max, lung) > 0


@pytest.fixture(scope="module")
def short_influenza():
    from awaken.tissue.engine import run_group_tissue

    experiment = with_overrides(load_experiment("influenza"), days=10, mice=2, seed=3)
    return run_group_tissue(experiment, inline=True)


def test_the_tissue_engine_keeps_the_result_contract(short_influenza):
    result = check_result(short_influenza)
    assert list(result.timecourse.columns) == list(TIMECOURSE_COLUMNS)
    np.testing.assert_array_equal(result.days, np.arange(11.0))
    assert result.values_at(9, "dcc_count").size == 2


def test_the_same_seed_gives_the_same_bytes(short_influenza):
    from awaken.tissue.engine import run_group_tissue

    again = run_group_tissue(short_influenza.experiment, inline=True)
    assert _parquet(again.per_mouse) == _parquet(short_influenza.per_mouse)
    other = run_group_tissue(with_overrides(short_influenza.experiment, seed=4), inline=True)
    assert _parquet(other.per_mouse) != _parquet(short_influenza.per_mouse)


@pytest.mark.slow
def test_sections_are_the_same_bytes_on_two_dask_workers_as_inline(short_influenza):
    from awaken.tissue.engine import run_group_tissue

    on_dask = run_group_tissue(short_influenza.experiment, workers=2, inline=False)
    assert _parquet(on_dask.per_mouse) == _parquet(short_influenza.per_mouse)


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def test_a_wild_type_section_meets_the_same_virus_without_dccs():
    """Counter-based draws keyed by each kind's own identities: DCCs do not shift the virus's dice."""
    from awaken.tissue.engine import run_group_tissue

    her2 = run_group_tissue(with_overrides(load_experiment("influenza"), days=6, mice=1), inline=True, movie=False)
    wild = run_group_tissue(with_overrides(load_experiment("wild_type_influenza"), days=6, mice=1), inline=True,
                            movie=False)
    np.testing.assert_array_equal(her2.series("virus_titer"), wild.series("virus_titer"))
    assert wild.at(6, "dcc_total") == 0


def test_outputs_images_ome_tiff_movie_statistics_and_agents(short_influenza, tmp_path):
    import tifffile
    from PIL import Image

    from awaken.runs.directory import RunDirectory

    with RunDirectory(tmp_path / "run", kind="experiment") as run:
        short_influenza.write_outputs(run)
        run.finish()
    images = tmp_path / "run" / "tissue" / "images"
    assert sorted(p.name for p in images.iterdir()) == ["day_00.ome.tif", "day_00.png", "day_03.ome.tif",
                                                         "day_03.png", "day_09.ome.tif", "day_09.png"]
    assert Image.open(images / "day_09.png").size == (400, 400)
    with tifffile.TiffFile(images / "day_09.ome.tif") as tif:
        assert tif.is_ome and tif.series[0].shape == (5, 400, 400)
        assert "HER2" in tif.ome_metadata and "PhysicalSizeX" in tif.ome_metadata
    movie = Image.open(tmp_path / "run" / "tissue" / "movie.gif")
    assert movie.n_frames == 21  # every 12 h over 10 days
    agents = pd.read_parquet(tmp_path / "run" / "tables" / "tissue_agents.parquet")
    assert {"mouse", "day", "uid", "kind", "x_um", "y_um", "stat3", "ki67"} <= set(agents.columns)
    assert not agents.duplicated(["mouse", "day", "uid"]).any()
    statistics = pd.read_parquet(tmp_path / "run" / "tissue" / "spatial_statistics.parquet")
    assert len(statistics) == 6 and "dcc_to_cd4_median_um" in statistics


def test_cross_k_is_pi_r_squared_under_complete_spatial_randomness():
    from awaken.tissue.spatial_statistics import cross_k, cross_pair_correlation

    rng = np.random.default_rng(1)
    a, b = rng.uniform(0, 800, (2000, 2)), rng.uniform(0, 800, (2000, 2))
    radii = np.array([20.0, 50.0, 100.0])
    np.testing.assert_allclose(cross_k(a, b, 800.0, radii), np.pi * radii**2, rtol=0.05)
    np.testing.assert_allclose(cross_pair_correlation(a, b, 800.0, radii), 1.0, atol=0.1)


def test_a_human_experiment_is_refused_by_name_before_any_work():
    from awaken.tissue.engine import run_group_tissue

    human = load_experiment("influenza").model_copy(update={"species": "human"})
    with pytest.raises(InputError, match="species"):
        run_group_tissue(human)
    with pytest.raises(InputError, match="workers"):
        run_group_tissue(with_overrides(load_experiment("pbs"), days=2, mice=2), workers=0)
