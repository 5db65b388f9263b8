"""The measurement model every bone model shares: how a predicted change of a quantity becomes what a study
printed (a log ratio of one outcome, or only its direction and significance).

- Loadings: an outcome moves `loading` times its quantity; the quantity's reference outcome has loading 1
  (`observations.REFERENCE_OUTCOME`), every other one a learned loading (`outcome_loading` prior). For bone
  mass this is the skeletal-site dimension; outcomes that move against their quantity have a negative sign.
- Between-study heterogeneity: every study deviates from what the model predicts for one of its quantities by an
  additive amount shared by all its contrasts of that quantity, delta[study, quantity] = spread[family] * z with z ~
  Normal(0, 1) (non-centred); the outcome family is the quantity (Mg status, inflammation, osteoclasts, ...), and
  its spread is learned from every study of that family, all species together (partial pooling). Per species and
  quantity was tried first: families held by one study (mouse inflammation) funnelled NUTS (all-studies M1: 72
  divergences, R-hat 1.06 for that spread). A study has a deviation for a quantity only where its species holds
  at least two studies of it (`deviating_study_quantities`). This is the random effect of a meta-analysis: a new
  study is predicted with the spread the others show around the model, also where the model predicts no change.
- Point contrasts: y ~ Normal(loading * (mu + delta), sqrt(se^2 + noise[outcome]^2)).
- Directions: the printed sign d of a result whose significance was printed, with threshold c = z(p) * se:
  P(d = 1) = P(Y > c), P(d = -1) = P(Y < -c), P(d = 0) = P(-c < Y < c) for Y ~ Normal(loading * (mu + delta), same sigma),
  an interval-censored standardized effect. A null result therefore pulls the effect towards zero exactly as
  strongly as its sample size allows, and a significant one away from it.
- Integrated out for sampling (`collapse=True`): given everything else, a study-quantity whose rows are all point
  contrasts is a Gaussian offset shared by Gaussian rows, so it integrates out in closed form. Its rows are jointly
  Normal with covariance diag(sigma^2) + spread^2 l l^T; by the matrix determinant lemma and Sherman-Morrison the
  log density is the rows' independent one plus 0.5 spread^2 B^2 / (1 + spread^2 A) - 0.5 log(1 + spread^2 A),
  with A = sum l^2 / sigma^2 and B = sum l r / sigma^2 (r the residual without the offset). NUTS then samples no
  funnel for it. After sampling, each draw's offset is drawn from its exact conditional, Normal(v B, v) with
  v = 1 / (1 / spread^2 + A) (`complete_study_deviations`), so the posterior holds every deviation as if it had been
  sampled and the model without collapse computes the log-likelihood and predictions. Study-quantities with direction
  rows keep a sampled deviation (the censored likelihood has no closed form).
- Held out (leave one study out): a model built with `holdout=True` carries 0/1 masks over contrasts and
  directions (`HOLDOUT_MASKS`, shared data) and a potential that subtracts the masked terms, so its posterior is the
  posterior without them. Every fold of an analysis is then one compiled model with other mask values, and the
  held-out study keeps its parameters, which only its own prior and the hierarchy inform: it is predicted as a new
  study would be.
"""

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from mgbone.models.observations import NEGATIVE_OUTCOMES, REFERENCE_OUTCOME, ObservationSet
from mgbone.models.priors import PRIORS

HOLDOUT_MASKS = {"y": "held_out_contrast", "y_direction": "held_out_direction"}  # observed variable -> its mask
# observed variable -> the shared data holding its values (simulation-based calibration swaps them)
OBSERVED_DATA = {"y": "y_observed", "y_direction": "y_direction_observed"}
# what the collapsed model records per draw for the conditional draw of its integrated-out deviations
COLLAPSED = {"precision": "collapsed_precision", "score": "collapsed_score", "effect": "sampled_outcome_effect"}
COLLAPSED_DIMS = {"collapsed": "collapsed_study_quantity", "sampled": "sampled_study_quantity"}
UNBOUNDED = 1e3  # stands in for an infinite bound on the log-ratio scale (|log ratio| never comes near it)
# single-row loadings sampled through their row's prediction (`loadings`): the variable names and dims; and the
# size below which a prediction's log is floored (a 0.1% change: only smoothness at 0, any value keeps it exact)
ANCHORED = {"response": "single_row_response", "free": "outcome_loading_sampled"}
ANCHORED_DIMS = {"anchored": "single_row_outcome", "free": "sampled_loaded_outcome"}
ANCHOR_FLOOR = 1e-3


def measured(obs: ObservationSet):
    """Point contrasts and directions stacked (their shared columns), for coordinates and lookups."""
    if len(obs.directions):
        return [obs.contrasts, obs.directions]
    return [obs.contrasts]


def _rows(obs: ObservationSet, table) -> pd.DataFrame:
    """Per row of a contrast table: its study, quantity, species and study-quantity label ('Rude1998 bone_mass')."""
    species = obs.groups["species"].to_numpy()[table["target_group"].to_numpy(int)]
    rows = pd.DataFrame({"study_id": table["study_id"].to_numpy(), "quantity": table["quantity"].to_numpy(),
                         "species": species})
    rows["label"] = rows["study_id"] + " " + rows["quantity"]
    return rows


def deviating_study_quantities(obs: ObservationSet) -> list[str]:
    """Study-quantities with a deviation of their own: those whose species holds at least two studies of that
    quantity (with one, its deviation and the species' own parameters for the quantity are one number, a ridge
    that NUTS cannot mix: all-studies M1, the one mouse inflammation study, R-hat 1.06)."""
    rows = pd.concat([_rows(obs, t) for t in measured(obs)])
    per_cell = rows.groupby(["species", "quantity"])["study_id"].transform("nunique")
    return sorted(rows.loc[per_cell >= 2, "label"].unique())


def collapsible_study_quantities(obs: ObservationSet) -> list[str]:
    """Deviating study-quantities whose rows are all point contrasts: their deviation integrates out exactly."""
    directed = set(_rows(obs, obs.directions)["label"]) if len(obs.directions) else set()
    return [sq for sq in deviating_study_quantities(obs) if sq not in directed]


def _family(label: str) -> str:
    return label.split(" ", 1)[1]


def outcome_coords(obs: ObservationSet) -> dict:
    tables = measured(obs)
    pairs = sorted({(q, o) for t in tables for q, o in zip(t["quantity"], t["outcome"], strict=True)})
    outcomes = sorted({o for _, o in pairs})
    loaded = [o for q, o in pairs if REFERENCE_OUTCOME.get(q) != o]
    study_quantities = deviating_study_quantities(obs)
    families = sorted({_family(label) for label in study_quantities})
    return {"outcome": outcomes, "loaded_outcome": sorted(set(loaded)),
            "study_quantity": study_quantities, "outcome_family": families}


def single_row_outcomes(obs: ObservationSet, coords: dict) -> list[str]:
    """Outcomes with a learned loading that one point contrast alone prints (no other row, no direction)."""
    counts = obs.contrasts["outcome"].value_counts()
    directed = set(obs.directions["outcome"]) if len(obs.directions) else set()
    return [o for o in coords["loaded_outcome"] if counts.get(o, 0) == 1 and o not in directed]


def unreferenced_quantities(obs: ObservationSet) -> dict[str, str]:
    """Quantity -> the outcome it is measured in when no row prints its reference outcome: the loaded outcome that
    the most studies print (point contrasts or directions; ties by name; counted in studies, not rows, so that a
    model built on the same studies' curve grid picks the same one). Such a quantity's size and that outcome's
    loading meet only as a product in the data."""
    rows = pd.concat([t[["quantity", "outcome", "study_id"]] for t in measured(obs)])
    out = {}
    for quantity, part in rows.groupby("quantity"):
        if REFERENCE_OUTCOME.get(quantity) not in set(part["outcome"]):
            studies = part.groupby("outcome")["study_id"].nunique()
            out[quantity] = sorted(studies.index, key=lambda o: (-studies[o], o))[0]
    return out


def loadings(coords: dict, anchors: dict | None = None):
    """Tensor of one loading per `coords['outcome']` (1 for references), with the learned ones as a variable.

    `anchors`: outcome -> f, the log size of its one row's predicted change before the loading (smooth in the
    parameters). Such a loading is sampled as t = log loading + f, the log size of the row's prediction, from the
    same prior shifted by f: an exact change of variables (unit Jacobian). Why: the one row pins only the product of
    loading and dynamics, a curved ridge in (log loading, rates) that NUTS crawls along (all-studies M1: the mouse
    substance P and IL-1 loadings with the Mg equilibration rate and the rodent speed set its lowest ESS); in t the
    row pins t alone. The loadings stay in the posterior as `outcome_loading` (a deterministic then).
    Models that need the free loadings before their predictions exist (M0 scales slopes by them) call the two
    stages themselves: `free_log_loadings`, then `signed_loadings`."""
    anchors = anchors or {}
    return signed_loadings(coords, free_log_loadings(coords, list(anchors)), anchors)


def free_log_loadings(coords: dict, anchored: list[str]) -> dict:
    """outcome -> log loading, for the learned loadings not in `anchored` (sampled from the loading prior)."""
    free = [o for o in coords["loaded_outcome"] if o not in anchored]
    if not free:
        return {}
    if not anchored:
        log_loading = PRIORS["outcome_loading"].rv(dims="loaded_outcome")
    else:
        pm.modelcontext(None).add_coord(ANCHORED_DIMS["free"], free)
        log_loading = PRIORS["outcome_loading"].rv(name=ANCHORED["free"], dims=ANCHORED_DIMS["free"])
    return {o: log_loading[i] for i, o in enumerate(free)}


def signed_loadings(coords: dict, free: dict, anchors: dict):
    """The signed loading per `coords['outcome']` from the free log loadings and those sampled through their row
    (`anchors`, as in `loadings`); with anchors, `outcome_loading` is recorded as a deterministic."""
    loaded = coords["loaded_outcome"]
    parts = dict(free)
    if anchors:
        pm.modelcontext(None).add_coord(ANCHORED_DIMS["anchored"], list(anchors))
        shift = pt.stack(list(anchors.values()))
        centre, scale = PRIORS["outcome_loading"].parameters
        response = pm.Normal(ANCHORED["response"], mu=centre + shift, sigma=scale, dims=ANCHORED_DIMS["anchored"])
        parts |= dict(zip(anchors, response - shift, strict=True))
        pm.Deterministic("outcome_loading", pt.stack([parts[o] for o in loaded]), dims="loaded_outcome")
    log_values = [parts.get(o, pt.constant(0.0)) for o in coords["outcome"]]
    signs = np.array([-1.0 if o in NEGATIVE_OUTCOMES else 1.0 for o in coords["outcome"]])
    return pt.exp(pt.stack(log_values)) * signs


def row_anchors(obs: ObservationSet, coords: dict, mu_points) -> dict:
    """outcome -> log |its one row's prediction before the loading| (smoothed at 0 by ANCHOR_FLOOR)."""
    rows = {o: int(np.flatnonzero(obs.contrasts["outcome"].to_numpy() == o)[0])
            for o in single_row_outcomes(obs, coords)}
    return {o: 0.5 * pt.log(mu_points[r] ** 2 + ANCHOR_FLOOR**2) for o, r in rows.items()}


def study_quantity_deviations(obs: ObservationSet, coords: dict, collapsed: list[str]) -> tuple[dict, object]:
    """Per table ('y', 'y_direction'): each row's additive deviation of its study from the model for its quantity
    (0 for study-quantities without one, and for the `collapsed` ones, integrated out), from per-family spreads
    (learned) and standardised study-quantity effects (non-centred); and the spreads (None without deviations)."""
    tables = dict(zip(("y", "y_direction"), measured(obs), strict=False))
    if not coords["study_quantity"]:
        return {name: 0.0 for name in tables}, None
    spread = PRIORS["study_outcome_spread"].rv(dims="outcome_family")
    integrated = set(collapsed)
    sampled = [sq for sq in coords["study_quantity"] if sq not in integrated]
    family_index = np.array([coords["outcome_family"].index(_family(sq)) for sq in sampled], dtype=int)
    if not collapsed:  # (nothing to integrate out: the model is the full one, names included)
        z = PRIORS["study_outcome_effect"].rv(dims="study_quantity")
        deviation = pm.Deterministic("study_outcome_deviation", spread[family_index] * z, dims="study_quantity")
    elif sampled:
        pm.modelcontext(None).add_coord(COLLAPSED_DIMS["sampled"], sampled)
        z = PRIORS["study_outcome_effect"].rv(name=COLLAPSED["effect"], dims=COLLAPSED_DIMS["sampled"])
        deviation = spread[family_index] * z
    else:
        deviation = pt.zeros(0)
    padded = pt.concatenate([deviation, pt.zeros(1)])  # the last entry: rows without a (sampled) deviation
    lookup = {sq: i for i, sq in enumerate(sampled)}
    return {name: padded[np.array([lookup.get(sq, len(sampled)) for sq in _rows(obs, table)["label"]], dtype=int)]
            for name, table in tables.items()}, spread


def _integrate_out(obs: ObservationSet, coords: dict, collapsed: list[str], spread, residual, weight,
                   scaled_loading) -> None:
    """Potential adding, per collapsed study-quantity, its marginal log density over the rows' independent one
    (module docstring), and the two sums its conditional draw needs (`COLLAPSED`, per draw)."""
    pm.modelcontext(None).add_coord(COLLAPSED_DIMS["collapsed"], collapsed)
    labels = _rows(obs, obs.contrasts)["label"].to_numpy()
    membership = (labels[None, :] == np.array(collapsed)[:, None]).astype(float)  # (blocks, rows)
    precision = pm.Deterministic(COLLAPSED["precision"], pt.dot(membership, weight * scaled_loading**2),
                                 dims=COLLAPSED_DIMS["collapsed"])
    score = pm.Deterministic(COLLAPSED["score"], pt.dot(membership, weight * scaled_loading * residual),
                             dims=COLLAPSED_DIMS["collapsed"])
    variance = spread[np.array([coords["outcome_family"].index(_family(sq)) for sq in collapsed], dtype=int)] ** 2
    shrink = 1.0 + variance * precision
    pm.Potential("study_outcome_integrated", pt.sum(0.5 * variance * score**2 / shrink - 0.5 * pt.log(shrink)))


def complete_study_deviations(posterior, coords: dict, rng: np.random.Generator):
    """The posterior of a collapsed model with every study-quantity's standardised deviation
    (`study_outcome_effect`, dims 'study_quantity'): the sampled ones as sampled, the integrated-out ones drawn
    from their exact conditional given each draw (module docstring); the helper variables dropped."""
    if COLLAPSED["precision"] not in posterior:
        return posterior
    spread = posterior["study_outcome_spread"]
    collapsed = list(posterior[COLLAPSED_DIMS["collapsed"]].values)
    family = xr.DataArray([_family(sq) for sq in collapsed], dims=COLLAPSED_DIMS["collapsed"])
    variance = spread.sel(outcome_family=family).drop_vars("outcome_family") ** 2
    conditional_variance = 1.0 / (1.0 / variance + posterior[COLLAPSED["precision"]])
    delta = conditional_variance * posterior[COLLAPSED["score"]] + np.sqrt(conditional_variance) * xr.DataArray(
        rng.standard_normal(conditional_variance.shape), dims=conditional_variance.dims)
    parts = [(delta / np.sqrt(variance)).rename({COLLAPSED_DIMS["collapsed"]: "study_quantity"})]
    if COLLAPSED["effect"] in posterior:
        parts.append(posterior[COLLAPSED["effect"]].rename({COLLAPSED_DIMS["sampled"]: "study_quantity"}))
    effect = xr.concat(parts, dim="study_quantity").sel(study_quantity=list(coords["study_quantity"]))
    helpers = [v for v in COLLAPSED.values() if v in posterior]
    out = posterior.drop_vars(helpers).drop_dims([d for d in COLLAPSED_DIMS.values() if d in posterior.dims])
    return out.assign(study_outcome_effect=effect.transpose("chain", "draw", "study_quantity"))


def _direction_logp(value, mu, sigma, threshold):
    """log P(printed sign `value`) for Y ~ Normal(mu, sigma), significance at |Y| > threshold."""
    dist = pm.Normal.dist(mu, sigma)
    lower = pt.switch(pt.gt(value, 0), threshold, pt.switch(pt.lt(value, 0), -UNBOUNDED, -threshold))
    upper = pt.switch(pt.lt(value, 0), -threshold, pt.switch(pt.gt(value, 0), UNBOUNDED, threshold))
    return pm.math.logdiffexp(pm.logcdf(dist, upper), pm.logcdf(dist, lower))


def _direction_random(mu, sigma, threshold, rng=None, size=None):
    y = rng.normal(mu, sigma, size=size)
    return np.sign(y) * (np.abs(y) > threshold)


def observe(mu_points, mu_directions, obs: ObservationSet, coords: dict, noise, holdout: bool = False,
            collapse: bool = False, anchor_single_rows: bool = False, loading=None) -> None:
    """Add the likelihood of the point contrasts ('y', dims 'contrast') and of the directions ('y_direction');
    with `holdout`, also the masks and the potential that leaves the masked terms out; with `collapse`, the
    deviations of point-only study-quantities integrated out (module docstring); with `anchor_single_rows`, the
    loadings one row alone informs sampled through that row's prediction (`loadings`: for models whose predicted
    changes keep their sign, so the log of their size is smooth where the posterior is); `loading`: the loadings
    when the model built them itself (`loadings`), because its own parameters are scaled by them (M0)."""
    if loading is None:
        loading = loadings(coords, row_anchors(obs, coords, mu_points) if anchor_single_rows else None)
    collapsed = collapsible_study_quantities(obs) if collapse and coords["study_quantity"] else []
    deviation, spread = study_quantity_deviations(obs, coords, collapsed)
    masks = {name: pm.Data(HOLDOUT_MASKS[name], np.zeros(len(t)), dims=dim)
             for name, t, dim in zip(("y", "y_direction"), measured(obs), ("contrast", "direction"), strict=False)
             } if holdout else {}
    outcome_index = {o: i for i, o in enumerate(coords["outcome"])}
    c = obs.contrasts
    idx = c["outcome"].map(outcome_index).to_numpy()
    se = np.nan_to_num(c["se"].to_numpy(float), nan=0.0)
    sigma = pt.sqrt(se**2 + noise[idx] ** 2)
    y = pm.Data(OBSERVED_DATA["y"], c["y"].to_numpy(float), dims="contrast")
    mu = pm.Deterministic("mu", loading[idx] * (mu_points + deviation["y"]), dims="contrast")
    observed = {"y": (pm.Normal("y", mu=mu, sigma=sigma, observed=y, dims="contrast"), y)}
    if collapsed:
        keep = (1.0 - masks["y"]) if holdout else 1.0
        _integrate_out(obs, coords, collapsed, spread, y - mu, keep / sigma**2, loading[idx])
    d = obs.directions
    if len(d):
        idx = d["outcome"].map(outcome_index).to_numpy()
        sigma_d = pt.sqrt(d["se"].to_numpy(float) ** 2 + noise[idx] ** 2)
        signs = pm.Data(OBSERVED_DATA["y_direction"], d["y"].to_numpy(float), dims="direction")
        mu_d = loading[idx] * (mu_directions + deviation["y_direction"])
        rv = pm.CustomDist("y_direction", mu_d, sigma_d, d["threshold"].to_numpy(float), logp=_direction_logp,
                           random=_direction_random, observed=signs, dims="direction")
        observed["y_direction"] = (rv, signs)
    if holdout:
        pm.Potential("held_out_removed", -sum(pt.sum(masks[name] * pm.logp(rv, value))
                                              for name, (rv, value) in observed.items()))
