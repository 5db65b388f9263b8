"""Credible-interval tables: mean, sd, median, 90/95% equal-tailed and HDI intervals, R-hat, ESS, MCSE.

Interval kinds and probabilities are always passed explicitly: ArviZ 1 defaults to 89% ETI.
"""

import arviz as az
import arviz_stats
import numpy as np
import pandas as pd
import xarray as xr

from mgbone.analysis.draws import summary_table
from mgbone.constants import SAMPLE_DIMS
from mgbone.inference.diagnostics import parameter_names

PROBS = (0.9, 0.95)
DIAGNOSTICS = ("r_hat", "ess_bulk", "ess_tail", "mcse_mean", "mcse_sd")  # columns of the parameter summary, in order


def _statistics(ds: xr.Dataset, dim: list[str]) -> xr.Dataset:
    """mean, sd (ddof 1), median, then per probability the ETI and HDI bounds, stacked along `summary`."""
    parts = [ds.mean(dim).expand_dims(summary=["mean"]), ds.std(dim, ddof=1).expand_dims(summary=["sd"]),
             ds.median(dim).expand_dims(summary=["median"])]
    for prob in PROBS:
        pct = int(round(prob * 100))
        for kind, interval in (("eti", az.eti(ds, prob=prob, dim=dim)), ("hdi", az.hdi(ds, prob=prob, dim=dim))):
            parts.append(interval.rename(ci_bound="summary").assign_coords(summary=[f"{kind}{pct}_lower",
                                                                                     f"{kind}{pct}_upper"]))
    return xr.concat(parts, dim="summary")


def _rows(ds: xr.Dataset, dim: list[str]) -> pd.DataFrame:
    return summary_table(_statistics(ds, dim))


def parameter_summary(tree: xr.DataTree) -> pd.DataFrame:
    """One row per scalar parameter (vector parameters expanded), with convergence and Monte Carlo error columns
    (`arviz_stats.summary`); entries fixed by construction (no R-hat) are dropped."""
    names = parameter_names(tree)
    dims = list(SAMPLE_DIMS)
    stats = _statistics(tree["posterior"].dataset[names], dims)
    diagnostics = arviz_stats.summary(tree, var_names=names, kind="diagnostics", fmt="xarray", round_to="none",
                                      sample_dims=dims).sel(summary=list(DIAGNOSTICS))
    table = summary_table(xr.concat([stats, diagnostics], dim="summary"))
    return table[table["r_hat"].notna()].reset_index(drop=True)


def draws_summary(draws: dict[str, np.ndarray]) -> pd.DataFrame:
    """Summary of derived quantities given as flat draw vectors."""
    ds = xr.Dataset({k: ("sample", np.asarray(v, float)) for k, v in draws.items()})
    return _rows(ds, ["sample"])


def check_interval_order(table: pd.DataFrame) -> list[str]:
    """Names of rows whose intervals are not nested around the median (should be empty)."""
    bad = []
    for row in table.itertuples():
        ok = (row.eti95_lower <= row.eti90_lower <= row.median <= row.eti90_upper <= row.eti95_upper
              and row.hdi95_lower <= row.hdi90_lower and row.hdi90_upper <= row.hdi95_upper)
        if not ok:
            bad.append(row.quantity)
    return bad
