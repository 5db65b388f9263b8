"""Between-study heterogeneity of the measurement layer: each study deviates from the model for each of its
quantities by one additive amount, spread learned per outcome family (quantity)."""

import numpy as np
import pandas as pd
import pytest
import yaml

from mgbone.data import load_registry, load_selection
from mgbone.models import get_model
from mgbone.models.observations import ObservationSet, build_observations
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def design():
    config = yaml.safe_load((ROOT / "config/extended.yaml").read_text())
    dataset, provenance = load_selection(ROOT / "data", config["analyses"]["m1_core"]["studies"])
    return build_observations(dataset, reference_groups=provenance["reference_groups"])


def labels_in(table, labels) -> np.ndarray:
    return (table["study_id"] + " " + table["quantity"]).isin(list(labels)).to_numpy()


@pytest.mark.parametrize("name", ["M0", "M1", "M2"])
def test_a_deviation_shifts_only_its_studys_rows_of_its_quantity(design, name):
    model_def = get_model(name)
    obs = model_def.fits(design)
    model = model_def.build(obs)
    c = obs.contrasts
    labels = (c["study_id"] + " " + c["quantity"]).to_numpy()
    assert 0 < len(model.coords["study_quantity"]) < len(set(labels))  # the sole study of its kind has none
    deviating = c[labels_in(c, model.coords["study_quantity"])]
    shared = deviating.groupby(["study_id", "quantity"]).size()
    study, quantity = shared.idxmax()  # a study-quantity with several rows: all of them move together
    assert shared.max() > 1
    k = list(model.coords["study_quantity"]).index(f"{study} {quantity}")
    family = list(model.coords["outcome_family"]).index(quantity)

    point = model.initial_point()
    # mu as a function of the value variables (compiled from the random variables it would draw them)
    mu = model.compile_fn(model.replace_rvs_by_values([model["mu"]])[0], inputs=model.value_vars,
                          on_unused_input="ignore")
    shifted = dict(point)
    shifted["study_outcome_effect"] = point["study_outcome_effect"].copy()
    shifted["study_outcome_effect"][k] += 1.0
    diff = np.asarray(mu(shifted)) - np.asarray(mu(point))

    mine = labels == f"{study} {quantity}"
    assert np.all(diff[~mine] == 0.0)
    spread = np.exp(point["study_outcome_spread_log__"][family])
    # outcome loadings start at 1 in magnitude (log loading 0), so each row moves by the family's spread
    assert np.abs(diff[mine]) == pytest.approx(np.full(mine.sum(), spread), rel=1e-9)


def test_only_studies_with_a_peer_of_their_species_and_quantity_deviate(design):
    obs = get_model("M1").fits(design)
    model = get_model("M1").build(obs)
    c = obs.contrasts.assign(species=obs.groups["species"].to_numpy()[obs.contrasts["target_group"].to_numpy(int)])
    peers = c.groupby(["species", "quantity"])["study_id"].nunique()
    for (study, quantity, species), _ in c.groupby(["study_id", "quantity", "species"]):
        assert (f"{study} {quantity}" in model.coords["study_quantity"]) == (peers[(species, quantity)] >= 2)


@pytest.fixture(scope="module")
def every_study():
    """All registered studies (these hold results printed only as directions)."""
    studies = list(load_registry(ROOT / "data/studies.yaml"))
    dataset, provenance = load_selection(ROOT / "data", studies)
    return build_observations(dataset, reference_groups=provenance["reference_groups"])


@pytest.mark.parametrize("name", ["M0", "M1"])
def test_the_study_curves_model_keeps_the_fitted_deviations(every_study, name):
    """The curve figures are drawn from a model built on a time grid: its study-quantities must be the fit's, or a
    study's curve would silently lose its deviation (before the fix, 12 of 80 in M0 on all studies)."""
    from mgbone.analysis.study_curves import curve_contrasts, curve_observations

    model_def = get_model(name)
    fitted = model_def.fits(every_study)
    assert len(fitted.directions) > 0
    grid = curve_contrasts(fitted.contrasts, 5)
    fitted_coords = model_def.build(fitted).coords["study_quantity"]
    assert model_def.build(curve_observations(fitted, grid)).coords["study_quantity"] == fitted_coords


# Evaluated a few times only: the Python linker without the C compile (compiling the M1 graphs took minutes)
EVALUATE_ONLY = "FAST_COMPILE"


def _log_density(model):
    """log p at a point: the terms summed outside the graph (the Python Elemwise takes at most 32 inputs)."""
    terms = model.compile_fn(model.logp(sum=False), inputs=model.value_vars, on_unused_input="ignore",
                             mode=EVALUATE_ONLY)
    return lambda point: sum(float(np.sum(term)) for term in terms(point))


def _deterministics(model, names):
    outputs = model.replace_rvs_by_values([model[n] for n in names])
    return model.compile_fn(outputs, inputs=model.value_vars, on_unused_input="ignore", mode=EVALUATE_ONLY)


@pytest.mark.parametrize("name,holdout", [("M0", False), ("M1", False), ("M1", True), ("M2", False)])
def test_integrating_the_deviations_out_is_exact(every_study, name, holdout):
    """The collapsed model is the full one with the point-only deviations integrated out, and the conditional it
    records is the exact one: for any parameters and deviations z,
    log p_full(theta, z) = log p_collapsed(theta) + sum_b log p(z_b | theta, y)
    (an identity in z that fails if either the marginal or the conditional is wrong)."""
    import pymc as pm
    import xarray as xr
    from scipy.stats import norm

    from mgbone.inference.holdout import study_masks
    from mgbone.models.likelihood import COLLAPSED, COLLAPSED_DIMS, collapsible_study_quantities

    model_def = get_model(name)
    obs = model_def.fits(every_study)
    full, collapsed = model_def.build(obs, holdout=holdout), model_def.build(obs, holdout=holdout, collapse=True)
    if holdout:  # a study with collapsed rows held out: its rows leave both the marginal and the conditional
        study = collapsible_study_quantities(obs)[0].split(" ", 1)[0]
        for model in (full, collapsed):
            pm.set_data(study_masks(obs, study), model=model)
    blocks = list(collapsed.coords[COLLAPSED_DIMS["collapsed"]])
    sampled = list(collapsed.coords.get(COLLAPSED_DIMS["sampled"], []))
    assert len(blocks) > 10 and len(sampled) > 0  # both kinds present on all studies
    labels = list(full.coords["study_quantity"])
    rng = np.random.default_rng(7)
    base = collapsed.initial_point()
    for key in base:  # away from the support point, so loadings, noises and spreads differ
        base[key] = base[key] + rng.uniform(-0.5, 0.5, size=np.shape(base[key]))
    z = rng.standard_normal(len(labels))
    z[[labels.index(s) for s in sampled]] = base[COLLAPSED["effect"]]
    point = {k: v for k, v in base.items() if k != COLLAPSED["effect"]} | {"study_outcome_effect": z}
    difference = float(_log_density(full)(point)) - float(_log_density(collapsed)(base))

    precision, score, spread = _deterministics(collapsed, [COLLAPSED["precision"], COLLAPSED["score"],
                                                           "study_outcome_spread"])(base)
    families = list(full.coords["outcome_family"])
    s = np.array([spread[families.index(b.split(" ", 1)[1])] for b in blocks])
    variance = 1.0 / (1.0 / s**2 + precision)
    z_blocks = z[[labels.index(b) for b in blocks]]
    conditional = norm.logpdf(z_blocks, variance * score / s, np.sqrt(variance) / s).sum()
    assert difference == pytest.approx(conditional, rel=1e-9, abs=1e-7)

    if holdout:  # the held-out study's integrated deviations are drawn from the prior alone
        mine = np.array([b.split(" ", 1)[0] == study for b in blocks])
        assert mine.any() and np.all(precision[mine] == 0) and np.all(score[mine] == 0)
    # and the completion step returns exactly these deviations' conditional, in the full model's order
    from mgbone.models.likelihood import complete_study_deviations
    posterior = xr.Dataset({
        COLLAPSED["precision"]: (("chain", "draw", COLLAPSED_DIMS["collapsed"]), np.tile(precision, (1, 4000, 1))),
        COLLAPSED["score"]: (("chain", "draw", COLLAPSED_DIMS["collapsed"]), np.tile(score, (1, 4000, 1))),
        COLLAPSED["effect"]: (("chain", "draw", COLLAPSED_DIMS["sampled"]),
                              np.tile(base[COLLAPSED["effect"]], (1, 4000, 1))),
        "study_outcome_spread": (("chain", "draw", "outcome_family"), np.tile(spread, (1, 4000, 1))),
    }, coords={COLLAPSED_DIMS["collapsed"]: blocks, COLLAPSED_DIMS["sampled"]: sampled, "outcome_family": families})
    completed = complete_study_deviations(posterior, full.coords, np.random.default_rng(3))
    effect = completed["study_outcome_effect"]
    assert list(effect["study_quantity"].values) == labels and COLLAPSED["precision"] not in completed
    draws = effect.sel(study_quantity=blocks).to_numpy()[0]
    assert np.mean(draws, axis=0) == pytest.approx(variance * score / s, abs=5 * np.sqrt(variance.max()) / s.min() / 60)
    assert np.std(draws, axis=0) == pytest.approx(np.sqrt(variance) / s, rel=0.1)


def test_partial_centring_changes_the_sampler_not_the_prior():
    """Centred and non-centred units get the same Normal(0, scale) deviation and the same standardised z."""
    import pymc as pm

    from mgbone.models.base import group_deviations

    with pm.Model(coords={"unit": ["pinned", "loose"]}) as model:
        scale = pm.LogNormal("scale", 0.0, 0.5)
        group_deviations("study_effect", "deviation", scale, np.array([True, False]), "unit")
    assert {v.name for v in model.free_RVs} == {"scale", "study_effect_sampled"}
    scale_draws, deviation, z = pm.draw([model["scale"], model["deviation"], model["study_effect"]], draws=20000,
                                        random_seed=5)
    assert z == pytest.approx(deviation / scale_draws[:, None], rel=1e-12)
    # both units: standard normal z (a centred unit mis-scaled would give a z spread of `scale`, here up to 2.7)
    assert np.std(z, axis=0) == pytest.approx([1.0, 1.0], abs=0.03)
    assert np.mean(z, axis=0) == pytest.approx([0.0, 0.0], abs=0.03)


def test_a_unit_is_centred_when_its_own_rows_pin_it():
    from mgbone.models.base import well_measured

    contrasts = pd.DataFrame({"y": [0.5, 0.02, 0.0, 0.5, 0.05], "se": [0.01, np.nan, 0.01, 0.5, 0.001]})
    obs = ObservationSet(groups=pd.DataFrame(), contrasts=contrasts, unfitted=pd.DataFrame())
    units = ["precise", "small", "small", "noisy", "tiny"]
    # relative: sigma / |y| against the spread (precise 0.04/0.5; small: 0.04/0.02; noisy: 0.5/0.5; tiny 0.04/0.05)
    assert well_measured(obs, units, ["precise", "small", "noisy", "tiny", "absent"], 0.25) == ["precise"]
    # additive: sigma alone (about 0.04 wherever se is small against the noise's prior median)
    assert well_measured(obs, units, ["precise", "small", "noisy", "tiny"], 0.05, relative=False) == [
        "precise", "small", "tiny"]


def test_the_study_curves_model_gets_the_fitted_study_deviations(every_study):
    """The curve model is built on a grid (y = 0), so its centring can differ from the fit's: the deviations must
    still arrive unchanged through the standardised z (`holdout.transfer_posterior`)."""
    import pymc as pm
    import xarray as xr

    from mgbone.analysis.study_curves import curve_contrasts, curve_observations
    from mgbone.inference.holdout import transfer_posterior

    model_def = get_model("M0")
    fitted = model_def.fits(every_study)
    fit_model = model_def.build(fitted)
    assert "study_effect_sampled" in {v.name for v in fit_model.free_RVs}  # some study is centred
    draws = pm.sample_prior_predictive(draws=20, model=fit_model, random_seed=2).prior
    grid_model = model_def.build(curve_observations(fitted, curve_contrasts(fitted.contrasts, 5)))
    moved = transfer_posterior(grid_model, draws, seed=3)
    deviation = pm.sample_posterior_predictive(xr.DataTree.from_dict({"posterior": moved}), model=grid_model,
                                               var_names=["study_deviation"], progressbar=False, random_seed=4)
    again = deviation.posterior_predictive["study_deviation"]
    np.testing.assert_allclose(again.to_numpy(), draws["study_deviation"].sel(study=again["study"]).to_numpy(),
                               rtol=1e-10)


def test_m0_slopes_in_outcome_units_are_the_same_model(every_study):
    """M0 samples the slopes of a quantity whose reference outcome no row prints in the units of the outcome that
    does (u = slope * loading): at any point its log density equals the plain model's at the slopes it records,
    plus the log-Jacobian of the change of variables (du / dslope = loading per scaled slope)."""
    from mgbone.models.likelihood import unreferenced_quantities

    model_def = get_model("M0")
    obs = model_def.fits(every_study)
    assert model_def.reparameterise  # the default
    moved = model_def.build(obs)
    model_def.reparameterise = False
    plain = model_def.build(obs)
    assert {"osteoblast_activity", "osteoclast_activity"} <= set(unreferenced_quantities(obs))
    assert {rv.name for rv in moved.free_RVs} - {rv.name for rv in plain.free_RVs} == {"slope_in_outcome_units"}

    rng = np.random.default_rng(5)
    point = moved.initial_point()
    for key in point:
        point[key] = point[key] + rng.uniform(-0.5, 0.5, size=np.shape(point[key]))
    (slope,) = _deterministics(moved, ["slope"])(point)
    log_loading = point["outcome_loading"]
    plain_point = {k: v for k, v in point.items() if k != "slope_in_outcome_units"} | {"slope": slope}
    loaded = list(moved.coords["loaded_outcome"])
    jacobian = len(moved.coords["species"]) * sum(log_loading[loaded.index(o)]
                                                  for o in unreferenced_quantities(obs).values())
    assert _log_density(moved)(point) == pytest.approx(_log_density(plain)(plain_point) - jacobian, rel=1e-12, abs=1e-8)
    # the recorded slope of a quantity seen through osteocalcin is the sampled value over that loading
    q = list(moved.coords["level_quantity"]).index("osteoblast_activity")
    np.testing.assert_allclose(slope[q], point["slope_in_outcome_units"][q] / np.exp(log_loading[loaded.index("osteocalcin")]))


@pytest.mark.parametrize("name", ["M1", "M2"])
def test_single_row_loadings_sampled_through_their_row_are_the_same_model(every_study, name):
    """A loading that one row alone informs is sampled as t = log loading + log|row prediction| (a unit-Jacobian
    change of variables): at any point the log density equals the plain model's at log loading = t - f, and the
    recorded `outcome_loading` is that log loading."""
    from mgbone.models.likelihood import ANCHORED, ANCHORED_DIMS, single_row_outcomes

    model_def = get_model(name)
    obs = model_def.fits(every_study)
    assert model_def.anchor_single_rows  # the default
    anchored = model_def.build(obs)
    model_def.anchor_single_rows = False
    plain = model_def.build(obs)
    rows = list(anchored.coords[ANCHORED_DIMS["anchored"]])
    assert rows == single_row_outcomes(obs, plain.coords) and {"il1", "substance_p"} <= set(rows)
    assert "outcome_loading" in {rv.name for rv in plain.free_RVs} - {rv.name for rv in anchored.free_RVs}

    rng = np.random.default_rng(11)
    point = anchored.initial_point()
    for key in point:
        point[key] = point[key] + rng.uniform(-0.5, 0.5, size=np.shape(point[key]))
    (log_loading,) = _deterministics(anchored, ["outcome_loading"])(point)
    loaded = list(plain.coords["loaded_outcome"])
    free = list(anchored.coords[ANCHORED_DIMS["free"]])
    np.testing.assert_array_equal(log_loading[[loaded.index(o) for o in free]], point[ANCHORED["free"]])
    plain_point = {k: v for k, v in point.items() if k not in ANCHORED.values()} | {"outcome_loading": log_loading}
    assert _log_density(anchored)(point) == pytest.approx(_log_density(plain)(plain_point), rel=1e-10, abs=1e-8)
    # and the row's prediction is what t sets: moving t moves only that row's loading
    moved = dict(point)
    moved[ANCHORED["response"]] = point[ANCHORED["response"]] + 0.3
    (shifted,) = _deterministics(anchored, ["outcome_loading"])(moved)
    np.testing.assert_allclose(shifted - log_loading,
                               [0.3 if o in rows else 0.0 for o in loaded], atol=1e-12)
