"""Prior sensitivity by power-scaling (Kallioinen et al. 2023, doi:10.1007/s11222-023-10366-5).

Prior and likelihood are raised to powers near 1 and the posterior is reweighted by Pareto-smoothed
importance sampling (ArviZ `psense_summary`), so no refit is needed. Run on the parameters and on
the conclusions (claim and scenario quantities): a conclusion that moves when the prior is scaled
hinges on the prior, not on the studies.
"""

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from mgbone.constants import SAMPLE_DIMS


def with_conclusions(tree: xr.DataTree, conclusions: dict[str, np.ndarray]) -> tuple[xr.DataTree, list[str]]:
    """A copy of the tree whose posterior also holds per-draw conclusions (flattened chain x draw)."""
    posterior = tree["posterior"].dataset
    shape = (posterior.sizes["chain"], posterior.sizes["draw"])
    extra = {name: (SAMPLE_DIMS, np.asarray(values, float).reshape(shape)) for name, values in conclusions.items()}
    out = tree.copy()
    out["posterior"] = xr.DataTree(posterior.assign(extra))
    return out, list(conclusions)


def power_scaling(tree: xr.DataTree, model: pm.Model, conclusions: dict[str, np.ndarray],
                  threshold: float = 0.05) -> pd.DataFrame:
    """Prior and likelihood sensitivity (cumulative Jensen-Shannon distance per unit log power)."""
    tree, conclusion_names = with_conclusions(tree, conclusions)
    log_prior = pm.stats.compute_log_prior(tree, model=model, extend_inferencedata=False, progressbar=False)
    tree["log_prior"] = log_prior if isinstance(log_prior, xr.DataTree) else xr.DataTree(log_prior)
    parameters = [v for v in tree["posterior"].data_vars if v != "mu" and v not in conclusion_names]
    with warnings.catch_warnings():  # constant elements (e.g. the human speed factor, fixed at 1) give 0/0
        warnings.simplefilter("ignore", RuntimeWarning)
        table = az.psense_summary(tree, var_names=parameters + conclusion_names, threshold=threshold, round_to=6)
    table = table.rename_axis("quantity").reset_index().rename(
        columns={"prior": "prior_sensitivity", "likelihood": "likelihood_sensitivity"})
    table = table.dropna(subset=["prior_sensitivity"])
    table["kind"] = np.where(table["quantity"].isin(conclusion_names), "conclusion", "parameter")
    table["diagnosis"] = table["diagnosis"].replace({"✓": "ok"})
    return table[["kind", "quantity", "prior_sensitivity", "likelihood_sensitivity", "diagnosis"]]
