"""Comparisons between analyses: PSIS-LOO on the observations they share (ArviZ `compare`)."""

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from mgbone.constants import LOO_VARIABLE
from mgbone.inference.diagnostics import pareto_k_threshold

KEY = ["study_id", "outcome", "source_rows", "time_weeks"]


def contrast_keys(tree: xr.DataTree) -> list[tuple]:
    constants = tree["constant_data"].dataset
    return [(*(str(constants[k].values[i]) for k in KEY[:-1]), round(float(constants[KEY[-1]].values[i]), 6))
            for i in range(constants.sizes["contrast"])]


def shared_subset(trees: dict[str, xr.DataTree]) -> dict[str, xr.DataTree]:
    """Each tree's log-likelihood restricted to the contrasts every analysis fitted, in one order."""
    keys = {name: contrast_keys(tree) for name, tree in trees.items()}
    common = sorted(set.intersection(*(set(k) for k in keys.values())))
    if not common:
        raise ValueError(f"analyses {sorted(trees)} share no observations: LOO cannot compare them")
    out = {}
    for name, tree in trees.items():
        position = {k: i for i, k in enumerate(keys[name])}
        index = np.array([position[k] for k in common])
        log_lik = tree["log_likelihood"].dataset[[LOO_VARIABLE]].isel(contrast=index).assign_coords(contrast=np.arange(len(common)))
        posterior = tree["posterior"].dataset[[v for v in tree["posterior"].data_vars if v != "mu"]]
        out[name] = xr.DataTree.from_dict({"posterior": posterior, "log_likelihood": log_lik,
                                           "sample_stats": tree["sample_stats"].dataset})
    return out


def loo_comparison(trees: dict[str, xr.DataTree]) -> pd.DataFrame:
    """elpd_loo per analysis on the shared observations, differences with their SE, stacking weights,
    and how many observations have Pareto k above the reliability threshold."""
    subset = shared_subset(trees)
    loos = {name: az.loo(tree, var_name=LOO_VARIABLE) for name, tree in subset.items()}  # once each: compare reuses them
    table = az.compare(loos, round_to="none").reset_index().rename(columns={"index": "analysis"})
    if "analysis" not in table.columns:
        table = table.rename(columns={table.columns[0]: "analysis"})
    bad = {name: int((np.asarray(loo.pareto_k).ravel() > pareto_k_threshold(int(loo.n_samples))).sum())
           for name, loo in loos.items()}
    table["n_observations"] = next(iter(subset.values()))["log_likelihood"].dataset.sizes["contrast"]
    table["n_pareto_k_high"] = table["analysis"].map(bad)
    table["warning"] = np.where(table["n_pareto_k_high"] > 0,
                                "Pareto k high: PSIS-LOO unreliable for these observations (use k-fold or LOSO)", "")
    keep = [c for c in ["analysis", "rank", "elpd", "se", "p", "elpd_diff", "dse", "p_worse", "weight",
                        "diag_diff", "diag_elpd", "warning", "n_observations", "n_pareto_k_high"] if c in table.columns]
    return table[keep]
