"""awaken fit: objective, batched gradient, multi-start, profiles, identifiability, ensemble sampler."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from awaken.calibration import fitting
from awaken.calibration.fitting import CalibrationObjective, identifiability, sample_ensemble, start_points

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


@pytest.fixture(scope="module")
def objective() -> CalibrationObjective:
    return CalibrationObjective()


def test_a_batch_costs_what_its_points_cost_one_by_one(objective):
    rng = np.random.default_rng(4)
    points = objective.nominal() + 0.05 * rng.standard_normal((5, objective.dim))
    points = np.clip(points, objective.lower, objective.upper)
    batch = objective.costs(points)
    single = [objective(x) for x in points]
    np.testing.assert_allclose(batch, single, rtol=1e-10)


def test_points_outside_the_bounds_cost_infinity(objective):
    x = objective.nominal()
    x[0] = objective.upper[0] + 0.5
    assert objective(x) == math.inf


def test_the_batched_gradient_predicts_the_change_of_cost(objective):
    """The slope along the steepest-descent direction, measured point by point, is -|gradient|."""
    x = objective.nominal()
    g = objective.gradient(x)
    direction = -g / np.linalg.norm(g)
    step = 1e-3
    slope = (objective(x + step * direction) - objective(x - step * direction)) / (2 * step)
    assert slope == pytest.approx(-np.linalg.norm(g), rel=0.01)
    assert objective(x + step * direction) < objective(x)


def test_start_points_depend_only_on_seed_and_index(objective):
    five = start_points(objective, 5, seed=11)
    three = start_points(objective, 3, seed=11)
    np.testing.assert_array_equal(five[:3], three)
    assert np.all((five >= objective.lower) & (five <= objective.upper))
    assert not np.allclose(start_points(objective, 1, seed=12), five[:1])


def test_optimisation_lowers_the_cost_of_the_shipped_values(objective):
    fit = fitting.multistart(objective, n_starts=0, seed=0, max_iterations=5)
    assert list(fit.starts["start"]) == ["nominal"]
    assert fit.starts["cost"].iloc[0] < objective(objective.nominal())
    assert objective(fit.best) == pytest.approx(fit.starts["cost"].iloc[0], rel=1e-9)


def test_the_sampler_is_reproducible_and_stays_in_bounds(objective):
    a = sample_ensemble(objective, objective.nominal(), walkers=48, generations=4, seed=3, keep=30)
    b = sample_ensemble(objective, objective.nominal(), walkers=48, generations=4, seed=3, keep=30)
    np.testing.assert_array_equal(a[0], b[0])
    samples, costs, acceptance = a
    assert samples.shape == (30, objective.dim)
    assert np.all((samples >= objective.lower) & (samples <= objective.upper))
    assert 0 < acceptance < 1
    np.testing.assert_allclose(costs, objective.costs(samples), rtol=1e-10)
    with pytest.raises(ValueError, match="walkers"):
        sample_ensemble(objective, objective.nominal(), walkers=10, generations=2, seed=0, keep=1)


class _Quadratic:
    """A stand-in objective with known identifiability: x0 pinned, x1 one-sided, x2 flat."""

    names = ["pinned", "one_sided", "flat"]
    scales = ["lin", "lin", "lin"]
    lower = np.array([-1.0, -1.0, -1.0])
    upper = np.array([1.0, 1.0, 1.0])
    dim = 3

    def values(self, x):
        return dict(zip(self.names, map(float, x)))

    def targets_only(self):
        return self

    def __call__(self, x):
        return float(50 * x[0] ** 2 + 10 * max(x[1], 0.0) ** 2)

    def gradient(self, x):
        return np.array([100 * x[0], 20 * max(x[1], 0.0), 0.0])

    def pypesto_problem(self):
        import pypesto

        return pypesto.Problem(pypesto.Objective(fun=self, grad=self.gradient), lb=self.lower, ub=self.upper,
                               x_names=self.names, copy_objective=False)


def test_profiles_tell_pinned_one_sided_and_flat_parameters_apart():
    import pypesto
    import pypesto.optimize as optimize

    fake = _Quadratic()
    problem = fake.pypesto_problem()
    result = pypesto.Result(problem)
    result.optimize_result.append(optimize.ScipyOptimizer(method="L-BFGS-B").minimize(
        problem, x0=np.array([0.0, -0.2, 0.3]), id="0"))
    best = np.asarray(result.optimize_result.list[0].x)
    fit = fitting.FitResult(objective=fake, starts=pd.DataFrame(), best=best, pypesto_result=result)
    table = fitting.profiles(fit)
    verdicts = identifiability(table, fake, best).set_index("parameter")["verdict"].to_dict()
    assert verdicts == {"pinned": "identifiable", "one_sided": "bounded on one side", "flat": "not identifiable"}
    pinned = identifiability(table, fake, best).set_index("parameter").loc["pinned"]
    # 95 % interval of 50 x^2: cost rises by 1.92 at |x| = sqrt(1.92 / 50) = 0.196
    assert pinned["ci_high"] == pytest.approx(0.196, abs=0.03)


@pytest.mark.slow
def test_awaken_fit_writes_a_complete_run(tmp_path):
    from typer.testing import CliRunner

    from awaken.cli import app

    out = tmp_path / "fit"
    result = CliRunner().invoke(app, ["fit", "--starts", "1", "--max-iterations", "3", "--no-profiles",
                                      "--generations", "4", "--ensemble-size", "10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("report.html", "run.json", "ensemble.parquet", "ensemble_scores.json", "petab/problem.yaml",
                 "tables/starts.parquet", "tables/best.parquet", "figures/waterfall.svg", "figures/ensemble.svg"):
        assert (out / name).is_file(), name
    ensemble = pd.read_parquet(out / "ensemble.parquet")
    assert len(ensemble) == 10
    scores = json.loads((out / "ensemble_scores.json").read_text())
    assert set(scores["pass_fractions"]) >= {"M1_mock_dormant", "M4_expansion_day15", "M11_local_awakening"}
    assert "Identifiability" in (out / "report.html").read_text()
