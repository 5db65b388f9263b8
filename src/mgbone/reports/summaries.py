"""Credible-interval tables: mean, sd, median, 90/95% equal-tailed and HDI intervals, R-hat, ESS.

Interval kinds and probabilities are always passed explicitly: ArviZ 1 defaults to 89% ETI.
"""

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from mgbone.inference.diagnostics import labels, parameter_diagnostics, parameter_names

PROBS = (0.9, 0.95)


def _interval_columns(ds: xr.Dataset, dim: list[str]) -> dict[str, xr.Dataset]:
    out = {}
    for prob in PROBS:
        pct = int(round(prob * 100))
        eti = az.eti(ds, prob=prob, dim=dim)
        hdi = az.hdi(ds, prob=prob, dim=dim)
        out[f"eti{pct}_lower"] = eti.sel(ci_bound="lower", drop=True)
        out[f"eti{pct}_upper"] = eti.sel(ci_bound="upper", drop=True)
        out[f"hdi{pct}_lower"] = hdi.sel(ci_bound="lower", drop=True)
        out[f"hdi{pct}_upper"] = hdi.sel(ci_bound="upper", drop=True)
    return out


def _rows(ds: xr.Dataset, dim: list[str]) -> pd.DataFrame:
    stats = {"mean": ds.mean(dim), "sd": ds.std(dim, ddof=1), "median": ds.median(dim)}
    stats.update(_interval_columns(ds, dim))
    rows = []
    for name in ds.data_vars:
        arr = stats["mean"][name]
        names = [""] if arr.ndim == 0 else labels(arr)
        for i, label in enumerate(names):
            row = {"quantity": f"{name}[{label}]" if label else name}
            for key, values in stats.items():
                row[key] = float(np.ravel(values[name].to_numpy())[i])
            rows.append(row)
    return pd.DataFrame(rows)


def parameter_summary(tree: xr.DataTree) -> pd.DataFrame:
    """One row per scalar parameter (vector parameters expanded), with convergence columns."""
    names = parameter_names(tree)
    table = _rows(tree["posterior"].dataset[names], ["chain", "draw"])
    diag = parameter_diagnostics(tree).rename(columns={"parameter": "quantity"})
    return table.merge(diag, on="quantity", how="inner")  # drops entries fixed by construction


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
