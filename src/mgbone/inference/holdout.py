"""Leave-one-study-out (LOSO): refit without a study, then predict that study's observations.

A fold is the analysis's own model with the study's likelihood terms masked out (`likelihood.HOLDOUT_MASKS`), so
all folds share one compiled model and the held-out study's own parameters (its Mg-effect deviation, its drug
arms' deviations) come from the hierarchy the other studies teach, exactly as a new study's would.

PSIS-LOO leaves out one contrast at a time, and its Pareto k warns when that is unreliable; what
a reader of this evidence asks is different: "could the other studies have predicted this one?".
The held-out study enters the predictions as a new study would: its study-level effects, and any
parameter the remaining studies do not inform (a species or outcome only it reports), are drawn
from their priors.
"""

import warnings

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr
from scipy.special import logsumexp

from mgbone.constants import SAMPLE_DIMS
from mgbone.models.likelihood import HOLDOUT_MASKS
from mgbone.models.observations import ObservationSet


def study_masks(obs: ObservationSet, study: str) -> dict[str, np.ndarray]:
    """The shared-data values of a holdout model (`build(..., holdout=True)`) that leave `study` out."""
    masks = {HOLDOUT_MASKS["y"]: (obs.contrasts["study_id"].to_numpy() == study).astype(float)}
    if len(obs.directions):
        masks[HOLDOUT_MASKS["y_direction"]] = (obs.directions["study_id"].to_numpy() == study).astype(float)
    return masks


def transfer_posterior(model: pm.Model, posterior: xr.Dataset, seed: int) -> xr.Dataset:
    """Draws of every free variable of `model`: from `posterior` where it has the same name and
    coordinate label, from the prior (with `model`'s own structure) where it does not."""
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    names = [rv.name for rv in model.free_RVs]
    prior = pm.draw([model[n] for n in names], draws=chains * draws, random_seed=seed)
    out = {}
    for name, values in zip(names, prior, strict=True):
        dims = model.named_vars_to_dims.get(name, ())
        values = np.asarray(values, float).reshape(chains, draws, *np.shape(values)[1:])
        coords = {d: list(model.coords[d]) for d in dims}
        arr = xr.DataArray(values, dims=(*SAMPLE_DIMS, *dims), coords={**coords, "chain": posterior["chain"],
                                                                       "draw": posterior["draw"]})
        if name in posterior:
            source = posterior[name]
            if not dims:
                arr = source.astype(float).copy()
            elif set(source.dims) == {*SAMPLE_DIMS, *dims}:
                # copy the labels the fit has on every dim; the others keep their prior draws
                known = {d: [label for label in coords[d] if label in set(source[d].values)] for d in dims}
                if all(known.values()):
                    arr.loc[known] = source.sel(known).transpose(*SAMPLE_DIMS, *dims).to_numpy()
        out[name] = arr
    return xr.Dataset(out)


DIRECTION_LEVELS = (-1.0, 0.0, 1.0)  # significantly lower, no significant difference, significantly higher


def _draws(group: xr.Dataset, name: str, rows: np.ndarray) -> np.ndarray:
    return group[name].stack(sample=SAMPLE_DIMS).transpose("sample", ...).to_numpy()[:, rows]


def _prediction_set_covers(probabilities: np.ndarray, printed: np.ndarray, level: float) -> np.ndarray:
    """Per row: is the printed category in the smallest set of categories whose predictive probability reaches
    `level` (most probable first)? The analogue, for a result printed only as a direction, of an observation
    inside its central predictive interval."""
    order = np.argsort(-probabilities, axis=1, kind="stable")
    ranked = np.take_along_axis(probabilities, order, axis=1)
    needed = 1 + np.sum(np.cumsum(ranked, axis=1)[:, :-1] < level, axis=1)  # categories until the level is reached
    position = np.argmax(order == np.searchsorted(DIRECTION_LEVELS, printed)[:, None], axis=1)
    return position < needed


def held_out_predictive(model: pm.Model, obs: ObservationSet, fold: xr.DataTree, study: str,
                        seed: int) -> pd.DataFrame:
    """Predictions of each held-out observation from the posterior of the holdout `model` fitted with `study`
    masked out (its study-level parameters were drawn from the hierarchy): for a point contrast its 50% and 90%
    predictive intervals, PIT and log predictive density; for a result printed only as a direction the predictive
    probability of each direction, whether the printed one is in the 50% and 90% prediction sets, and its log
    predictive probability (no PIT: the outcome is a category)."""
    names = ["y"] + (["y_direction"] if len(obs.directions) else [])
    with warnings.catch_warnings():
        # PyMC warns that potentials do not act in predictive sampling: here they must not. The fold's draws
        # already carry the potential (the held-out terms removed); the predictive draws y given each of them.
        warnings.filterwarnings("ignore", message="The effect of Potentials", category=UserWarning)
        predictive = pm.sample_posterior_predictive(fold, model=model, var_names=names, random_seed=seed,
                                                    progressbar=False, extend_inferencedata=False)
    predictive = predictive["posterior_predictive"]
    log_lik = pm.compute_log_likelihood(fold, model=model, var_names=names, extend_inferencedata=False,
                                        progressbar=False)
    columns = ["study_id", "outcome", "quantity", "statistic", "time_weeks", "source_rows", "y", "se"]
    held = np.flatnonzero(obs.contrasts["study_id"].to_numpy() == study)
    pp, ll = _draws(predictive, "y", held), _draws(log_lik, "y", held)
    out = obs.contrasts.iloc[held][columns].reset_index(drop=True)
    out["predicted_median"] = np.median(pp, axis=0)
    for lo, hi, label in ((0.25, 0.75, "50"), (0.05, 0.95, "90")):
        out[f"pi{label}_lower"] = np.quantile(pp, lo, axis=0)
        out[f"pi{label}_upper"] = np.quantile(pp, hi, axis=0)
        out[f"inside_{label}"] = (out["y"] >= out[f"pi{label}_lower"]) & (out["y"] <= out[f"pi{label}_upper"])
    out["pit"] = np.mean(pp <= out["y"].to_numpy(), axis=0)
    out["lpd"] = logsumexp(ll, axis=0) - np.log(ll.shape[0])
    if "y_direction" not in names:
        return out
    held = np.flatnonzero(obs.directions["study_id"].to_numpy() == study)
    if not len(held):
        return out
    pp, ll = _draws(predictive, "y_direction", held), _draws(log_lik, "y_direction", held)
    signs = obs.directions.iloc[held][columns].reset_index(drop=True)
    probabilities = np.stack([np.mean(pp == level, axis=0) for level in DIRECTION_LEVELS], axis=1)
    for level, name in zip(DIRECTION_LEVELS, ("p_lower", "p_no_difference", "p_higher"), strict=True):
        signs[name] = probabilities[:, DIRECTION_LEVELS.index(level)]
    printed = signs["y"].to_numpy(float)
    signs["inside_50"] = _prediction_set_covers(probabilities, printed, 0.5)
    signs["inside_90"] = _prediction_set_covers(probabilities, printed, 0.9)
    signs["pit"] = np.nan
    signs["lpd"] = logsumexp(ll, axis=0) - np.log(ll.shape[0])
    return pd.concat([out, signs], ignore_index=True)


ALL_HELD_OUT = "(all held-out observations)"  # the summary's last row: observations pooled over every fold


def _summary_row(label: str, part: pd.DataFrame) -> dict:
    points = part["pit"].notna()  # (direction rows have no PIT: their outcome is a category)
    row = {"study_id": label, "n": len(part), "n_directions": int((~points).sum()), "elpd_loso": float(part["lpd"].sum()),
           "coverage_50": float(part["inside_50"].mean()), "coverage_90": float(part["inside_90"].mean()),
           "coverage_90_points": float(part.loc[points, "inside_90"].mean()) if points.any() else float("nan"),
           "extreme_pit": int(((part["pit"] < 0.05) | (part["pit"] > 0.95)).sum())}
    if "lpd_in_sample" in part:
        known = part["lpd_in_sample"].notna()  # the in-sample fit's lpd, where the fit stored it
        row["lpd_in_sample"] = float(part.loc[known, "lpd_in_sample"].sum()) if known.any() else float("nan")
        row["elpd_loss"] = row["lpd_in_sample"] - float(part.loc[known, "lpd"].sum())
    return row


def loso_summary(held_out: pd.DataFrame) -> pd.DataFrame:
    """Per held-out study: elpd, coverage of its observations and, when the table has it, the
    in-sample lpd of the same observations (the gap is how much their fit leans on the study itself);
    then one row `ALL_HELD_OUT` over every held-out observation (the coverage a reader checks first)."""
    rows = [_summary_row(study, part) for study, part in held_out.groupby("study_id", sort=True)]
    rows.append(_summary_row(ALL_HELD_OUT, held_out))
    return pd.DataFrame(rows)
