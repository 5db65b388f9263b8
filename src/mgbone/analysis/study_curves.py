"""Each fitted study's predicted time course: the model evaluated on a time grid for the same groups
and contrasts the study reports, with 50/90/95% credible bands, next to the observations.

Contrasts against a control group compare both groups at the same time; contrasts against baseline
and annualised changes are drawn as the cumulative change from time 0, and an annualised change
observed over [start, t] is anchored on the predicted median at `start`.
"""

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from mgbone.analysis.draws import draw_matrix
from mgbone.constants import BAND_QUANTILES
from mgbone.inference.holdout import transfer_posterior
from mgbone.models.observations import ObservationSet

CURVE_KEY = ["study_id", "outcome", "quantity", "target_group", "reference_group", "kind"]


def curve_contrasts(contrasts: pd.DataFrame, points: int = 30) -> pd.DataFrame:
    """One row per curve and grid time (weeks), in the layout the models build from."""
    rows = []
    for key, part in contrasts.groupby(CURVE_KEY, sort=True):
        end = float(part["time_weeks"].max()) * 1.05
        for t in np.linspace(0.0, end, points):
            row = dict(zip(CURVE_KEY, key, strict=True))
            row.update({"time_weeks": t, "reference_time_weeks": t if row["kind"] == "vs_control" else 0.0,
                        "statistic": part["statistic"].iloc[0], "y": 0.0, "se": 0.0, "source_rows": "grid"})
            rows.append(row)
    return pd.DataFrame(rows)


def curve_observations(fitted: ObservationSet, grid: pd.DataFrame) -> ObservationSet:
    """The fitted observations with the curve grid as contrasts. The directions stay: which studies deviate from the
    model (likelihood.deviating_study_quantities) is decided on all observed rows, and a grid model without them
    would drop the deviations of studies whose peers printed only directions."""
    return ObservationSet(groups=fitted.groups, contrasts=grid, unfitted=fitted.unfitted, directions=fitted.directions)


def predicted_curves(model_def, obs: ObservationSet, posterior: xr.Dataset, seed: int, points: int = 30) -> pd.DataFrame:
    """Bands of the predicted contrast (percent difference) along each curve's time grid."""
    fitted = model_def.fits(obs)
    grid = curve_contrasts(fitted.contrasts, points)
    model = model_def.build(curve_observations(fitted, grid))
    draws = transfer_posterior(model, posterior, seed)
    mu = pm.sample_posterior_predictive(xr.DataTree.from_dict({"posterior": draws}), model=model, var_names=["mu"],
                                        random_seed=seed, progressbar=False)
    values = draw_matrix(mu, "mu", group="posterior_predictive")
    percent = 100.0 * np.expm1(values)
    out = grid[CURVE_KEY + ["time_weeks"]].copy()
    for q, row in zip(BAND_QUANTILES, np.quantile(percent, BAND_QUANTILES, axis=0), strict=True):
        out[f"q{q * 100:g}"] = row
    return out


def observed_points(contrasts: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """Observations in the curves' units (percent difference), annualised changes anchored on the curve."""
    out = contrasts[CURVE_KEY + ["time_weeks", "reference_time_weeks", "y", "se"]].copy()
    anchor = []
    for row in out.itertuples():
        if row.kind == "vs_control" or row.reference_time_weeks == 0:
            anchor.append(0.0)
            continue
        curve = curves
        for column in CURVE_KEY:
            curve = curve[curve[column] == getattr(row, column)]
        median = np.interp(row.reference_time_weeks, curve["time_weeks"], curve["q50"])
        anchor.append(float(np.log1p(median / 100.0)))
    log_value = out["y"].to_numpy() + np.array(anchor)
    out["observed_pct"] = 100.0 * np.expm1(log_value)
    half = 1.96 * out["se"].fillna(0.0).to_numpy()
    out["observed_lower_pct"] = 100.0 * np.expm1(log_value - half)
    out["observed_upper_pct"] = 100.0 * np.expm1(log_value + half)
    return out
