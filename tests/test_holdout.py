"""Leave one study out by masking: the holdout model's log density is the full one minus the held-out study's
likelihood terms (contrasts and directions), and a fold fitted through one compiled model forgets that study."""

import numpy as np
import pymc as pm
import pytest
import yaml

from mgbone.data import load_selection
from mgbone.inference.backends import SamplerSettings, fit_each
from mgbone.inference.holdout import held_out_predictive, study_masks
from mgbone.models import get_model
from mgbone.models.likelihood import HOLDOUT_MASKS
from mgbone.models.observations import build_observations
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def design():
    config = yaml.safe_load((ROOT / "config/extended.yaml").read_text())
    dataset, provenance = load_selection(ROOT / "data", config["analyses"]["m1_core"]["studies"])
    return build_observations(dataset, reference_groups=provenance["reference_groups"])


def pointwise_log_likelihood(model, point):
    """Each observed variable's elementwise log likelihood at `point` (value-space variables)."""
    out = {}
    for name in HOLDOUT_MASKS:
        if name in model.named_vars:
            fn = model.compile_fn(model.logp(vars=[model[name]], sum=False)[0], inputs=model.value_vars,
                                  on_unused_input="ignore")
            out[name] = np.asarray(fn(point))
    return out


@pytest.mark.parametrize("name", ["M0", "M1"])
def test_the_mask_removes_exactly_the_held_out_terms(design, name):
    model_def = get_model(name)
    obs = model_def.fits(design)
    study = obs.contrasts["study_id"].value_counts().index[0]
    holdout = model_def.build(obs, holdout=True)
    point = holdout.initial_point()
    rng = np.random.default_rng(5)
    point = {k: v + rng.uniform(-0.3, 0.3, size=np.shape(v)) for k, v in point.items()}
    # (the plain fit's model differs only in how it samples its well-measured units: base.group_deviations)
    terms = pointwise_log_likelihood(holdout, point)
    full = holdout.compile_logp()(point)
    likelihood = sum(float(np.sum(t)) for t in terms.values())
    without_likelihood = holdout.compile_logp(vars=holdout.free_RVs)(point)
    assert full == pytest.approx(without_likelihood + likelihood, rel=1e-12)  # masks at 0: nothing left out
    masks = study_masks(obs, study)
    assert masks[HOLDOUT_MASKS["y"]].sum() == (obs.contrasts["study_id"] == study).sum() > 0
    pm.set_data(masks, model=holdout)
    removed = sum(float(np.sum(terms[n] * masks[HOLDOUT_MASKS[n]])) for n in terms)
    assert removed != 0.0
    assert holdout.compile_logp()(point) == pytest.approx(full - removed, rel=1e-9, abs=1e-9)


def test_a_fold_forgets_the_held_out_study_and_predicts_it(design):
    """SYNTHETIC observations: one study's contrasts are shifted far off. Fitted with them masked, the posterior
    predictive of those rows does not follow the shift (it is the other studies' prediction); with them unmasked, in
    the same compiled model, it does."""
    model_def = get_model("M0")
    obs = model_def.fits(design)
    human = obs.contrasts[obs.contrasts["target_group"].map(obs.groups["species"]) == "human"]
    study = human["study_id"].value_counts().index[0]  # (a species with other studies to learn from)
    rows = obs.contrasts["study_id"] == study
    obs.contrasts.loc[rows, "y"] = obs.contrasts.loc[rows, "y"] + 5.0  # SYNTHETIC: no study moves a log ratio by e^5
    model = model_def.build(obs, holdout=True)
    settings = SamplerSettings(backend="nutpie", chains=2, draws=150, tune=200, target_accept=0.9, prior_draws=10,
                               mass_matrix="diag")
    runs = [(3, study_masks(obs, study)), (3, {k: 0.0 * v for k, v in study_masks(obs, study).items()})]
    (masked, _), (kept, _) = list(fit_each(model, settings, runs))
    held = held_out_predictive(model, obs, masked, study, seed=4)
    fitted = held_out_predictive(model, obs, kept, study, seed=4)
    assert len(held) == rows.sum()
    assert (held["predicted_median"].abs() < 1.0).all()  # the others' prediction: no shift of e^5
    assert ((fitted["predicted_median"] - fitted["y"]).abs() < 0.5).mean() > 0.5  # with the rows, the fit follows
    assert held["lpd"].sum() < fitted["lpd"].sum() - 10.0


def test_a_printed_direction_is_covered_when_it_is_in_the_prediction_set():
    from mgbone.inference.holdout import _prediction_set_covers

    probabilities = np.array([[0.05, 0.15, 0.80]] * 3)  # P(lower), P(no difference), P(higher)
    printed = np.array([1.0, 0.0, -1.0])
    assert _prediction_set_covers(probabilities, printed, 0.9).tolist() == [True, True, False]  # set {higher, none}
    assert _prediction_set_covers(probabilities, printed, 0.5).tolist() == [True, False, False]  # set {higher}
    assert _prediction_set_covers(np.array([[0.0, 0.0, 1.0]]), np.array([-1.0]), 0.999).tolist() == [False]
