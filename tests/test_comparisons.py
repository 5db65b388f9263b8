"""Agreement between analyses, leave-one-study-out bookkeeping and prior sensitivity, on known cases
(SYNTHETIC draws with analytic answers)."""

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr
from scipy.stats import norm

from mgbone.analysis.agreement import agreement_table, contraction, overlap_coefficient
from mgbone.inference.holdout import ALL_HELD_OUT, loso_summary, transfer_posterior
from mgbone.inference.sensitivity import power_scaling


def draws(rng, mean, sd, n=4000):
    return rng.normal(mean, sd, n)


def test_overlap_coefficient_matches_the_normal_closed_form():
    rng = np.random.default_rng(1)
    # two unit normals one sd apart overlap by 2 * Phi(-1/2)
    assert overlap_coefficient(draws(rng, 0, 1), draws(rng, 1, 1)) == pytest.approx(2 * norm.cdf(-0.5), abs=0.04)
    assert overlap_coefficient(draws(rng, 0, 1), draws(rng, 0, 1)) > 0.93
    assert overlap_coefficient(draws(rng, 0, 1), draws(rng, 10, 1)) < 0.01


def test_contraction_is_one_minus_the_variance_ratio():
    rng = np.random.default_rng(2)
    assert contraction(draws(rng, 0, 0.5), draws(rng, 0, 1.0)) == pytest.approx(0.75, abs=0.03)
    assert np.isnan(contraction(draws(rng, 0, 1), None))


def tree_of(rng, mean, sd, prior_sd=1.0, label="a"):
    posterior = xr.Dataset({"effect": (("chain", "draw"), draws(rng, mean, sd).reshape(4, 1000)),
                            "gain": (("chain", "draw", "species"), np.exp(draws(rng, mean, sd, 8000)).reshape(4, 1000, 2))},
                           coords={"species": ["human", "rat"]})
    prior = xr.Dataset({"effect": (("chain", "draw"), draws(rng, 0, prior_sd, 1000).reshape(1, 1000)),
                        "gain": (("chain", "draw", "species"), np.exp(draws(rng, 0, prior_sd, 2000)).reshape(1, 1000, 2))},
                       coords={"species": ["human", "rat"]})
    return xr.DataTree.from_dict({"posterior": posterior, "prior": prior})


def test_agreement_verdicts_separate_agreeing_conflicting_and_uninformed():
    rng = np.random.default_rng(3)
    table = agreement_table({"animal": tree_of(rng, 0.0, 0.2), "human": tree_of(rng, 0.05, 0.2),
                             "far": tree_of(rng, 3.0, 0.2), "vague": tree_of(rng, 0.0, 1.0)})
    verdict = table.set_index(["parameter", "analysis_a", "analysis_b"])["verdict"]
    assert verdict["effect", "animal", "human"] == "agree"
    assert verdict["effect", "animal", "far"] == "disagree"
    assert verdict["effect", "animal", "vague"] == "prior-dominated"
    assert {"gain[human]", "gain[rat]"} <= set(table["parameter"])
    assert len(table) == 3 * 6  # three elements x six pairs


def test_each_pair_is_compared_on_what_it_shares():
    """A parameter two of three analyses have (M1 and M2's bone-cell rates, absent from M0) is still compared."""
    rng = np.random.default_rng(4)
    m1, m2, m0 = tree_of(rng, 0.0, 0.2), tree_of(rng, 0.0, 0.2), tree_of(rng, 0.0, 0.2)
    for group in ("posterior", "prior"):
        m0[group] = xr.DataTree(m0[group].dataset.drop_vars("gain"))
    pairs = agreement_table({"m0": m0, "m1": m1, "m2": m2}).groupby("parameter")[["analysis_a", "analysis_b"]]
    compared = {p: sorted(map(tuple, rows.to_numpy())) for p, rows in pairs}
    assert compared["effect"] == [("m0", "m1"), ("m0", "m2"), ("m1", "m2")]
    assert compared["gain[human]"] == compared["gain[rat]"] == [("m1", "m2")]


def test_transfer_keeps_fitted_labels_and_draws_the_rest_from_the_prior():
    with pm.Model(coords={"study": ["A", "B", "C"]}) as model:
        pm.Normal("study_effect", 0.0, 0.01, dims="study")
        pm.HalfNormal("noise", 1.0)
    posterior = xr.Dataset({"study_effect": (("chain", "draw", "study"), np.full((2, 50, 2), 5.0)),
                            "noise": (("chain", "draw"), np.full((2, 50), 0.3))},
                           coords={"study": ["A", "C"], "chain": [0, 1], "draw": np.arange(50)})
    out = transfer_posterior(model, posterior, seed=1)
    assert (out["study_effect"].sel(study=["A", "C"]) == 5.0).all()
    assert float(np.abs(out["study_effect"].sel(study="B")).max()) < 0.1  # a new study: its prior
    assert (out["noise"] == 0.3).all() and out["study_effect"].shape == (2, 50, 3)


def test_loso_summary_adds_up_each_study():
    held = pd.DataFrame({"study_id": ["A", "A", "B"], "lpd": [-1.0, -2.0, -0.5], "lpd_in_sample": [-0.5, -1.0, -0.4],
                         "inside_50": [True, False, True], "inside_90": [True, True, False], "pit": [0.5, 0.99, 0.02]})
    summary = loso_summary(held).set_index("study_id")
    assert summary.loc["A", "elpd_loso"] == -3.0 and summary.loc["A", "elpd_loss"] == pytest.approx(1.5)
    assert summary.loc["A", "coverage_50"] == 0.5 and summary.loc["B", "coverage_90"] == 0.0
    assert summary.loc["A", "extreme_pit"] == 1 and summary.loc["B", "extreme_pit"] == 1
    pooled = summary.loc[ALL_HELD_OUT]  # over observations, not an average of the studies' coverages
    assert pooled["n"] == 3 and pooled["coverage_90"] == pytest.approx(2 / 3) and pooled["elpd_loso"] == -3.5


def conjugate_fit(prior_sd: float, seed: int = 4, second_term: int = 0):
    """Normal mean with known sd 1, 50 observations around 2: analytic posterior draws, no sampling.
    `second_term` observations of the same mean go into a second observed variable (as direction-only results
    do in the models), which changes nothing but the bookkeeping: the posterior is the same."""
    rng = np.random.default_rng(seed)
    y = rng.normal(2.0, 1.0, 50)
    with pm.Model() as model:
        mean = pm.Normal("mean", 0.0, prior_sd)
        pm.Normal("y", mean, 1.0, observed=y[second_term:])
        if second_term:
            pm.Normal("y_direction", mean, 1.0, observed=y[:second_term])
    precision = 1 / prior_sd**2 + len(y)
    post = rng.normal(y.sum() / precision, precision**-0.5, (4, 1000))
    tree = xr.DataTree.from_dict({"posterior": xr.Dataset({"mean": (("chain", "draw"), post)})})
    tree = pm.compute_log_likelihood(tree, model=model, progressbar=False)
    return tree, model, post.ravel()


def test_power_scaling_flags_a_conflicting_prior_and_passes_a_vague_one():
    tree, model, post = conjugate_fit(prior_sd=0.1)
    conflict = power_scaling(tree, model, {"doubled": 2 * post}).set_index("quantity")
    assert conflict.loc["mean", "diagnosis"] == "potential prior-data conflict"
    assert conflict.loc["doubled", "kind"] == "conclusion"
    tree, model, post = conjugate_fit(prior_sd=100.0)
    vague = power_scaling(tree, model, {"doubled": 2 * post}).set_index("quantity")
    assert vague.loc["mean", "diagnosis"] == "ok" and vague.loc["doubled", "diagnosis"] == "ok"
    assert vague.loc["mean", "prior_sensitivity"] < conflict.loc["mean", "prior_sensitivity"]


def test_power_scaling_scales_every_likelihood_term():
    """Splitting the observations over two observed variables (contrasts and directions) must give the same
    sensitivities: the likelihood that is power-scaled is the whole of it."""
    one = power_scaling(*conjugate_fit(prior_sd=0.1)[:2], {}).set_index("quantity")
    two = power_scaling(*conjugate_fit(prior_sd=0.1, second_term=10)[:2], {}).set_index("quantity")
    assert two.loc["mean", "likelihood_sensitivity"] == pytest.approx(one.loc["mean", "likelihood_sensitivity"],
                                                                         rel=1e-6)
    assert two.loc["mean", "prior_sensitivity"] == pytest.approx(one.loc["mean", "prior_sensitivity"], rel=1e-6)
