"""The measurement model every bone model shares: how a predicted change of a quantity becomes what a study
printed (a log ratio of one outcome, or only its direction and significance).

- Loadings: an outcome moves `loading` times its quantity; the quantity's reference outcome has loading 1
  (`observations.REFERENCE_OUTCOME`), every other one a learned loading (`outcome_loading` prior). For bone
  mass this is the skeletal-site dimension; outcomes that move against their quantity have a negative sign.
- Point contrasts: y ~ Normal(loading * mu, sqrt(se^2 + noise[outcome]^2)).
- Directions: the printed sign d of a result whose significance was printed, with threshold c = z(p) * se:
  P(d = 1) = P(Y > c), P(d = -1) = P(Y < -c), P(d = 0) = P(-c < Y < c) for Y ~ Normal(loading * mu, same sigma),
  an interval-censored standardized effect. A null result therefore pulls the effect towards zero exactly as
  strongly as its sample size allows, and a significant one away from it.
- Held out (leave one study out): a model built with `holdout=True` carries 0/1 masks over contrasts and
  directions (`HOLDOUT_MASKS`, shared data) and a potential that subtracts the masked terms, so its posterior is the
  posterior without them. Every fold of an analysis is then one compiled model with other mask values, and the
  held-out study keeps its parameters, which only its own prior and the hierarchy inform: it is predicted as a new
  study would be.
"""

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from mgbone.models.observations import NEGATIVE_OUTCOMES, REFERENCE_OUTCOME, ObservationSet
from mgbone.models.priors import PRIORS

HOLDOUT_MASKS = {"y": "held_out_contrast", "y_direction": "held_out_direction"}  # observed variable -> its mask
UNBOUNDED = 1e3  # stands in for an infinite bound on the log-ratio scale (|log ratio| never comes near it)


def measured(obs: ObservationSet):
    """Point contrasts and directions stacked (their shared columns), for coordinates and lookups."""
    if len(obs.directions):
        return [obs.contrasts, obs.directions]
    return [obs.contrasts]


def outcome_coords(obs: ObservationSet) -> dict:
    tables = measured(obs)
    pairs = sorted({(q, o) for t in tables for q, o in zip(t["quantity"], t["outcome"], strict=True)})
    outcomes = sorted({o for _, o in pairs})
    loaded = [o for q, o in pairs if REFERENCE_OUTCOME.get(q) != o]
    return {"outcome": outcomes, "loaded_outcome": sorted(set(loaded))}


def loadings(coords: dict):
    """Tensor of one loading per `coords['outcome']` (1 for references), with the learned ones as a variable."""
    values = [pt.constant(1.0) for _ in coords["outcome"]]
    if coords["loaded_outcome"]:
        log_loading = PRIORS["outcome_loading"].rv(dims="loaded_outcome")
        for i, o in enumerate(coords["loaded_outcome"]):
            values[coords["outcome"].index(o)] = pt.exp(log_loading[i])
    signs = np.array([-1.0 if o in NEGATIVE_OUTCOMES else 1.0 for o in coords["outcome"]])
    return pt.stack(values) * signs


def _direction_logp(value, mu, sigma, threshold):
    """log P(printed sign `value`) for Y ~ Normal(mu, sigma), significance at |Y| > threshold."""
    dist = pm.Normal.dist(mu, sigma)
    lower = pt.switch(pt.gt(value, 0), threshold, pt.switch(pt.lt(value, 0), -UNBOUNDED, -threshold))
    upper = pt.switch(pt.lt(value, 0), -threshold, pt.switch(pt.gt(value, 0), UNBOUNDED, threshold))
    return pm.math.logdiffexp(pm.logcdf(dist, upper), pm.logcdf(dist, lower))


def _direction_random(mu, sigma, threshold, rng=None, size=None):
    y = rng.normal(mu, sigma, size=size)
    return np.sign(y) * (np.abs(y) > threshold)


def observe(mu_points, mu_directions, obs: ObservationSet, coords: dict, noise, holdout: bool = False) -> None:
    """Add the likelihood of the point contrasts ('y', dims 'contrast') and of the directions ('y_direction');
    with `holdout`, also the masks and the potential that leaves the masked terms out."""
    loading = loadings(coords)
    outcome_index = {o: i for i, o in enumerate(coords["outcome"])}
    c = obs.contrasts
    idx = c["outcome"].map(outcome_index).to_numpy()
    se = np.nan_to_num(c["se"].to_numpy(float), nan=0.0)
    sigma = pt.sqrt(se**2 + noise[idx] ** 2)
    y = pm.Data("y_observed", c["y"].to_numpy(float), dims="contrast")
    mu = pm.Deterministic("mu", loading[idx] * mu_points, dims="contrast")
    observed = {"y": (pm.Normal("y", mu=mu, sigma=sigma, observed=y, dims="contrast"), y, len(c), "contrast")}
    d = obs.directions
    if len(d):
        idx = d["outcome"].map(outcome_index).to_numpy()
        sigma_d = pt.sqrt(d["se"].to_numpy(float) ** 2 + noise[idx] ** 2)
        signs = d["y"].to_numpy(float)
        rv = pm.CustomDist("y_direction", loading[idx] * mu_directions, sigma_d, d["threshold"].to_numpy(float),
                           logp=_direction_logp, random=_direction_random, observed=signs, dims="direction")
        observed["y_direction"] = (rv, signs, len(d), "direction")
    if holdout:
        _leave_out_masked(observed)


def _leave_out_masked(observed: dict) -> None:
    removed = 0.0
    for name, (rv, value, size, dim) in observed.items():
        mask = pm.Data(HOLDOUT_MASKS[name], np.zeros(size), dims=dim)
        removed = removed + pt.sum(mask * pm.logp(rv, value))
    pm.Potential("held_out_removed", -removed)
