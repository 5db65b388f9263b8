"""Route attribution and drug scenarios on posterior-shaped prior draws of the mechanistic models."""

import numpy as np
import pymc as pm
import pytest

from mgbone.analysis.predictions import route_attribution, scenario_draws, scenario_paths
from mgbone.data import load_selection
from mgbone.models import get_model
from mgbone.models.observations import build_observations
from tests.conftest import ROOT

SCENARIOS = [
    {"name": "low", "species": "human", "mg_intake_mg_day": 200, "estrogen": "menopause", "duration_years": 5},
    {"name": "sup", "species": "human", "mg_intake_mg_day": 500, "estrogen": "menopause", "duration_years": 5},
    {"name": "drug", "species": "human", "mg_intake_mg_day": 200, "estrogen": "menopause", "duration_years": 5,
     "treatment": {"agent": "alendronate", "dose": "10 mg/day"}},
]
CLAIM = {"low_intake": "low", "supplemented": "sup", "horizon_years": 5}
CLASSES = {"alendronate": "bisphosphonate", "denosumab": "rank_ligand_antibody"}


@pytest.fixture(scope="module")
def prior_draws():
    """Prior draws of M1 and M2 on a rat deficiency study, a cohort and an alendronate trial, shaped as a
    posterior (the arithmetic under test does not care where the draws come from)."""
    dataset, provenance = load_selection(ROOT / "data", ["Rude1998", "Sowers2010", "Liberman1995"])
    obs = build_observations(dataset, reference_groups=provenance["reference_groups"])
    out = {}
    for name in ("M1", "M2"):
        model_def = get_model(name)
        draws = pm.sample_prior_predictive(draws=300, model=model_def.build(obs), random_seed=4)
        out[name] = (model_def, draws["prior"])
    return out


@pytest.mark.parametrize("name", ["M1", "M2"])
def test_route_contributions_add_up_to_the_magnesium_benefit(prior_draws, name):
    model_def, posterior = prior_draws[name]
    table = route_attribution(model_def, posterior, SCENARIOS, CLAIM, 320.0, seed=9).set_index("route")
    routes = set(model_def.routes)
    assert routes <= set(table.index) and ("pth_calcitriol_calcium" in routes) == (name == "M2")
    check = table.loc["all routes (check: equals the benefit)"]
    benefit = table.loc["Mg benefit"]
    # the routes are parallel paths from Mg status to bone and each is linear in its gain: they add up exactly
    for column in ("contribution_logpct_median", "contribution_logpct_eti90_lower", "contribution_logpct_eti90_upper"):
        assert check[column] == pytest.approx(benefit[column], rel=1e-8, abs=1e-10)


@pytest.mark.parametrize("name", ["M1", "M2"])
def test_a_drug_scenario_changes_bone_only_through_its_pathway(prior_draws, name):
    model_def, posterior = prior_draws[name]
    paths, _ = scenario_paths(scenario_draws(model_def, posterior, SCENARIOS, 320.0, 9, CLASSES))
    low, drug = paths["low"], paths["drug"]
    # the treatment leaves magnesium status and inflammation untouched and suppresses osteoclasts
    np.testing.assert_allclose(drug["mg_status"], low["mg_status"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(drug["inflammation"], low["inflammation"], rtol=0, atol=1e-12)
    assert np.all(drug["osteoclast_activity"][:, 0] == low["osteoclast_activity"][:, 0])  # not yet started
    assert np.mean(drug["osteoclast_activity"][:, -1] < low["osteoclast_activity"][:, -1]) > 0.99
    assert np.median(drug["bone_mass"][:, -1] - low["bone_mass"][:, -1]) > 0


def test_scenario_draws_survive_the_file_between_predict_and_summarize(prior_draws, tmp_path):
    """predict writes the scenario draws once; summarize and sensitivity read them back: same order, same numbers,
    and the bands computed from the file equal the bands of the draws in memory."""
    from mgbone.analysis.predictions import bands, percent_of_baseline, scenario_bands
    from mgbone.io import write_netcdf
    from mgbone.steps import load_tree

    model_def, posterior = prior_draws["M1"]
    draws = scenario_draws(model_def, posterior, SCENARIOS, 320.0, 9, CLASSES)
    write_netcdf(tmp_path / "draws.nc", draws)
    paths, times = scenario_paths(load_tree(tmp_path / "draws.nc"))
    assert list(paths) == ["low", "sup", "drug"]
    direct = model_def.trajectories(posterior, *_scenario("sup"), np.random.default_rng(9))
    np.testing.assert_array_equal(paths["sup"]["bone_mass"], direct["bone_mass"])
    table = scenario_bands(load_tree(tmp_path / "draws.nc"))
    expected = bands("sup", "bone_mass", times["sup"], percent_of_baseline(direct["bone_mass"]))
    got = table[(table["scenario"] == "sup") & (table["quantity"] == "bone_mass")].reset_index(drop=True)
    numeric = [c for c in expected.columns if c not in ("scenario", "quantity")]
    np.testing.assert_allclose(got[numeric].to_numpy(float), expected[numeric].to_numpy(float), rtol=1e-12)


def _scenario(name):
    from mgbone.analysis.predictions import scenario_from_config

    return scenario_from_config(next(s for s in SCENARIOS if s["name"] == name), 320.0, CLASSES)
