"""Results printed only as a direction: the interval-censored likelihood recovers a known effect (SYNTHETIC)."""

import numpy as np
import pymc as pm
import pytest
from scipy.stats import norm

from mgbone.models.likelihood import _direction_logp, _direction_random
from mgbone.models.observations import significance_threshold

TRUE_EFFECT = 0.08  # log ratio
CV, N_PER_GROUP, STUDIES = 0.3, 20, 60


def synthetic_directions(seed: int):
    """SYNTHETIC: studies that each print only 'higher', 'lower' or 'no difference' (two-sided p < 0.05)."""
    rng = np.random.default_rng(seed)
    se = CV * np.sqrt(2.0 / N_PER_GROUP)
    y = rng.normal(TRUE_EFFECT, se, size=STUDIES)
    c = norm.ppf(0.975) * se
    return np.sign(y) * (np.abs(y) > c), np.full(STUDIES, se), np.full(STUDIES, c)


def test_threshold_follows_the_printed_p():
    assert significance_threshold("<0.05", None) == pytest.approx(1.96, abs=1e-3)
    assert significance_threshold("<0.001", None) == pytest.approx(3.29, abs=1e-2)
    assert significance_threshold("0.035", "p one-tailed") == pytest.approx(1.81, abs=1e-2)
    assert significance_threshold("NS", None) == significance_threshold(None, None)


def test_probabilities_of_the_three_signs_sum_to_one():
    mu, sigma, c = np.array([0.05, -0.2, 0.0]), np.array([0.1, 0.05, 0.3]), np.array([0.2, 0.1, 0.0])
    total = sum(np.exp(pm.draw(_direction_logp(np.full(3, d), mu, sigma, c))) for d in (-1.0, 0.0, 1.0))
    np.testing.assert_allclose(total, 1.0, rtol=1e-10)


def _fit(codes, se, c):
    with pm.Model():
        effect = pm.Normal("effect", 0.0, 1.0)
        pm.CustomDist("y_direction", effect + np.zeros(len(codes)), se, c, logp=_direction_logp,
                      random=_direction_random, observed=codes)
        tree = pm.sample(draws=500, tune=500, chains=2, random_seed=5, progressbar=False, nuts_sampler="nutpie",
                         compute_convergence_checks=False)
    return tree.posterior["effect"].to_numpy().ravel()


def test_directions_alone_recover_a_known_effect():
    codes, se, c = synthetic_directions(seed=3)
    assert 0 < np.sum(codes == 0) < STUDIES  # a mix of nulls and significant results, as in the literature
    draws = _fit(codes, se, c)
    low, high = np.quantile(draws, [0.025, 0.975])
    assert low < TRUE_EFFECT < high
    assert high - low < 0.1  # the directions carry real information: far narrower than the prior


def test_null_results_count_as_much_as_positive_ones():
    """Fitting only the significant results (dropping the nulls) overstates the effect; with the nulls in, the
    estimate is back near the truth."""
    codes, se, c = synthetic_directions(seed=3)
    significant = codes != 0
    with_nulls, without = _fit(codes, se, c), _fit(codes[significant], se[significant], c[significant])
    assert np.mean(without) > np.mean(with_nulls) + 0.01
    assert abs(np.mean(with_nulls) - TRUE_EFFECT) < abs(np.mean(without) - TRUE_EFFECT)
