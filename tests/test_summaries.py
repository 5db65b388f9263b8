"""Credible-interval tables, coverage and derived quantities on known (synthetic) draws."""

from itertools import product

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mgbone.analysis.draws import element_draws
from mgbone.analysis.predictions import claim_check, coverage_table, derived_quantities
from mgbone.analysis.summaries import check_interval_order, draws_summary, parameter_summary
from mgbone.constants import WEEKS_PER_YEAR
from mgbone.inference.seeds import stable_seed


def test_intervals_are_nested_and_contain_the_median():
    rng = np.random.default_rng(0)
    table = draws_summary({"normal": rng.normal(2, 1, 20000), "skewed": rng.lognormal(0, 1, 20000)})
    assert check_interval_order(table) == []
    normal = table.set_index("quantity").loc["normal"]
    assert normal["eti95_lower"] == pytest.approx(2 - 1.96, abs=0.05)
    assert normal["eti90_upper"] == pytest.approx(2 + 1.645, abs=0.05)
    skewed = table.set_index("quantity").loc["skewed"]
    # the HDI of a right-skewed distribution sits left of its equal-tailed interval
    assert skewed["hdi95_lower"] < skewed["eti95_lower"]
    assert skewed["hdi95_upper"] < skewed["eti95_upper"]


def test_interval_order_check_detects_a_broken_row():
    table = draws_summary({"x": np.random.default_rng(1).normal(size=1000)})
    table.loc[0, "eti90_lower"] = table.loc[0, "median"] + 1
    assert check_interval_order(table) == ["x"]


def test_coverage_on_a_known_case():
    predictive = pd.DataFrame({
        "study_id": ["A", "A", "A", "B"],
        "inside_50": [True, False, False, True],
        "inside_90": [True, True, False, True],
    })
    table = coverage_table(predictive).set_index("study_id")
    assert table.loc["A", "coverage_50"] == pytest.approx(1 / 3)
    assert table.loc["A", "coverage_90"] == pytest.approx(2 / 3)
    assert table.loc["overall", "coverage_50"] == pytest.approx(0.5)
    assert table.loc["overall", "n"] == 4


def _linear_bone(rate_pct_per_year, n=4000, years=10):
    times = np.arange(0, years * WEEKS_PER_YEAR + 1, WEEKS_PER_YEAR / 4)
    rates = np.full(n, rate_pct_per_year)[:, None]
    return 100 * np.exp(-rates / 100 * times[None, :] / WEEKS_PER_YEAR), times


def test_derived_rates_and_contrasts_recover_known_values():
    low, t = _linear_bone(2.0)
    high, _ = _linear_bone(1.0)
    bone, times = {"low": low, "high": high}, {"low": t, "high": t}
    config = {"loss_rates": [{"scenario": "low", "from_years": 0, "to_years": 5}],
              "contrasts": [{"scenario": "high", "reference": "low", "at_years": [5], "thresholds_pp": [0, 100]}]}
    table, probabilities = derived_quantities(bone, times, config)
    table = table.set_index("quantity")
    assert table.loc["loss_rate_pct_per_year[low,0-5y]", "median"] == pytest.approx(-2.0, rel=1e-6)
    diff = 100 * (np.exp(-0.05) - np.exp(-0.10))
    assert table.loc["bmd_difference_pp[high - low,5y]", "median"] == pytest.approx(diff, rel=1e-6)
    assert probabilities["probability"].tolist() == [1.0, 0.0]


def test_claim_check_probabilities():
    low, t = _linear_bone(2.0)
    supplemented, _ = _linear_bone(0.5)
    drug = {"difference_pp": 50.0, "se_pp": 0.1, "years": 3.0}
    result = claim_check({"low": low, "sup": supplemented}, {"low": t, "sup": t},
                         {"low_intake": "low", "supplemented": "sup", "horizon_years": 10}, drug,
                         np.random.default_rng(0))
    assert result["p_mg_benefit_positive"] == 1.0
    assert result["p_mg_halves_loss"] == 1.0  # loss 18% vs 5%: more than halved
    assert result["p_mg_benefit_ge_drug"] == 0.0  # a 50-point drug effect is never matched


def test_claim_compares_magnesium_with_the_models_own_drug_prediction():
    low, t = _linear_bone(2.0)
    supplemented, _ = _linear_bone(1.5)
    on_drug, _ = _linear_bone(-1.0)  # the treated women gain 1%/year
    drug = {"difference_pp": 9.0, "se_pp": 0.5, "years": 3.0, "source": "Trial.csv:2"}
    claim = {"low_intake": "low", "supplemented": "sup", "horizon_years": 10,
             "drug": {"study": "Trial", "outcome": "bmd_lumbar_spine", "scenario": "drug"}}
    result = claim_check({"low": low, "sup": supplemented, "drug": on_drug}, {"low": t, "sup": t, "drug": t}, claim,
                         drug, np.random.default_rng(0))
    predicted = result["drug"]["predicted"]
    i = int(np.argmin(np.abs(t - 3 * WEEKS_PER_YEAR)))
    assert predicted["median"] == pytest.approx(np.median(on_drug[:, i] - low[:, i]))
    assert predicted["eti90"][0] <= predicted["median"] <= predicted["eti90"][1]
    assert result["drug"]["comparator"] == "predicted" and predicted["checked_against"] == "Trial.csv:2"
    # the synthetic prediction has no spread (8.9 pp exactly), so the printed 9.0 falls outside it: the check says so
    assert predicted["printed_inside_predicted_eti95"] is False
    assert result["p_mg_benefit_ge_drug"] == 0.0  # 0.5%/y less loss never matches a 3%/y gain


def test_stable_seed_is_deterministic_and_name_dependent():
    assert stable_seed(1, "m1_all", "fit") == stable_seed(1, "m1_all", "fit")
    assert stable_seed(1, "m1_all", "fit") != stable_seed(1, "m0_all", "fit")
    assert stable_seed(1, "a") != stable_seed(2, "a")
    assert 0 <= stable_seed(123456789, "x") < 2**31


def test_element_labels_follow_each_variable_when_dimension_orders_differ():
    """`species` meets `speed` before `slope[quantity, species]`: whole-dataset stacking (ArviZ's
    dataset_to_dataframe on xarray >= 2025.04) would pair slope's draws with the wrong labels."""
    rng = np.random.default_rng(3)
    species, quantities = ["human", "rat"], ["a", "b", "c"]
    slope = rng.normal(size=(2, 100, 3, 2)) + np.arange(6).reshape(3, 2) * 10.0
    posterior = xr.Dataset(
        {"speed": (("chain", "draw", "species"), rng.normal(size=(2, 100, 2))),
         "slope": (("chain", "draw", "quantity", "species"), slope)},
        coords={"chain": [0, 1], "draw": np.arange(100), "species": species, "quantity": quantities})
    elements = element_draws(posterior)
    assert list(elements.columns) == ["speed[human]", "speed[rat]"] + [f"slope[{q},{s}]" for q in quantities
                                                                      for s in species]
    table = parameter_summary(xr.DataTree.from_dict({"posterior": posterior})).set_index("quantity")
    for q, s in product(quantities, species):
        expected = posterior["slope"].sel(quantity=q, species=s).to_numpy().ravel()
        assert np.array_equal(elements[f"slope[{q},{s}]"].to_numpy(), expected)
        assert table.loc[f"slope[{q},{s}]", "mean"] == pytest.approx(expected.mean(), rel=1e-12)
    assert {"mcse_mean", "mcse_sd", "r_hat", "ess_bulk", "ess_tail"} <= set(table.columns)
