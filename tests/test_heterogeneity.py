"""Between-study heterogeneity of the measurement layer: each study deviates from the model for each of its
quantities by one additive amount, spread learned per outcome family (quantity)."""

import numpy as np
import pytest
import yaml

from mgbone.data import load_registry, load_selection
from mgbone.models import get_model
from mgbone.models.observations import build_observations
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
