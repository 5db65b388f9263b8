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


def held_out_predictive(model: pm.Model, obs: ObservationSet, fold: xr.DataTree, study: str,
                        seed: int) -> pd.DataFrame:
    """Predictive intervals, PIT and log predictive density of each held-out contrast, from the posterior of the
    holdout `model` fitted with `study` masked out (its study-level parameters were drawn from the hierarchy)."""
    predictive = pm.sample_posterior_predictive(fold, model=model, var_names=["y"], random_seed=seed,
                                                progressbar=False, extend_inferencedata=False)
    log_lik = pm.compute_log_likelihood(fold, model=model, var_names=["y"], extend_inferencedata=False,
                                        progressbar=False)
    held = np.flatnonzero(obs.contrasts["study_id"].to_numpy() == study)
    pp = predictive["posterior_predictive"]["y"].stack(sample=SAMPLE_DIMS).transpose("sample", ...).to_numpy()[:, held]
    ll = log_lik["y"].stack(sample=SAMPLE_DIMS).transpose("sample", ...).to_numpy()[:, held]
    out = obs.contrasts.iloc[held][["study_id", "outcome", "quantity", "statistic", "time_weeks", "source_rows",
                                    "y", "se"]].reset_index(drop=True)
    out["predicted_median"] = np.median(pp, axis=0)
    for lo, hi, label in ((0.25, 0.75, "50"), (0.05, 0.95, "90")):
        out[f"pi{label}_lower"] = np.quantile(pp, lo, axis=0)
        out[f"pi{label}_upper"] = np.quantile(pp, hi, axis=0)
        out[f"inside_{label}"] = (out["y"] >= out[f"pi{label}_lower"]) & (out["y"] <= out[f"pi{label}_upper"])
    out["pit"] = np.mean(pp <= out["y"].to_numpy(), axis=0)
    out["lpd"] = logsumexp(ll, axis=0) - np.log(ll.shape[0])
    return out


ALL_HELD_OUT = "(all held-out observations)"  # the summary's last row: observations pooled over every fold


def _summary_row(label: str, part: pd.DataFrame) -> dict:
    row = {"study_id": label, "n": len(part), "elpd_loso": float(part["lpd"].sum()),
           "coverage_50": float(part["inside_50"].mean()), "coverage_90": float(part["inside_90"].mean()),
           "extreme_pit": int(((part["pit"] < 0.05) | (part["pit"] > 0.95)).sum())}
    if "lpd_in_sample" in part:
        row["lpd_in_sample"] = float(part["lpd_in_sample"].sum())
        row["elpd_loss"] = row["lpd_in_sample"] - row["elpd_loso"]
    return row


def loso_summary(held_out: pd.DataFrame) -> pd.DataFrame:
    """Per held-out study: elpd, coverage of its observations and, when the table has it, the
    in-sample lpd of the same observations (the gap is how much their fit leans on the study itself);
    then one row `ALL_HELD_OUT` over every held-out observation (the coverage a reader checks first)."""
    rows = [_summary_row(study, part) for study, part in held_out.groupby("study_id", sort=True)]
    rows.append(_summary_row(ALL_HELD_OUT, held_out))
    return pd.DataFrame(rows)
