"""Parameter recovery and simulation-based calibration (Talts et al. 2018) on the real study design.

Data are SYNTHETIC: simulated from the model at the contrasts of the real studies (same groups,
times and reported standard errors), so they test the inference, not the evidence.
"""

import logging

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from mgbone.inference.backends import SamplerSettings, fit
from mgbone.models.likelihood import OBSERVED_DATA

log = logging.getLogger(__name__)


def scalar_parameters(model: pm.Model) -> list[str]:
    """Free scalar parameters on their natural scale (the quantities calibration is judged on)."""
    return [rv.name for rv in model.free_RVs if rv.ndim == 0]


def simulate(model: pm.Model, seed: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """One prior draw of the parameters and of every observation they imply (point contrasts and directions:
    calibrating on simulated contrasts beside the real directions would condition on data from another world)."""
    names = scalar_parameters(model)
    observed = [name for name in OBSERVED_DATA if name in model.named_vars]
    draws = pm.draw([model[n] for n in names] + [model[n] for n in observed], random_seed=seed)
    truth = {n: float(v) for n, v in zip(names, draws[: len(names)], strict=True)}
    return truth, {OBSERVED_DATA[n]: np.asarray(v, float) for n, v in zip(observed, draws[len(names):], strict=True)}


def recover(model: pm.Model, settings: SamplerSettings, seed: int,
            sampling_model: pm.Model | None = None) -> tuple[dict, xr.DataTree]:
    """Simulate from `model`, fit the simulated data (NUTS on `sampling_model`, its collapsed form, when given)."""
    truth, data = simulate(model, seed)
    for m in (model, sampling_model or model):
        pm.set_data(data, model=m)
    tree, _ = fit(model, settings, seed + 17, cores=1, sampling_model=sampling_model)
    return truth, tree


def coverage(truth: dict[str, float], tree: xr.DataTree, prob: float = 0.9, thin: int = 1) -> pd.DataFrame:
    """Whether each true value lies in the central `prob` interval, and its rank among the (thinned) draws."""
    posterior = tree["posterior"].dataset.isel(draw=slice(None, None, thin))
    lo, hi = (1 - prob) / 2, 1 - (1 - prob) / 2
    rows = []
    for name, value in truth.items():
        draws = posterior[name].to_numpy().ravel()
        lower, upper = np.quantile(draws, [lo, hi])
        rows.append({"parameter": name, "truth": value, "lower": lower, "upper": upper,
                     "covered": bool(lower <= value <= upper),
                     "rank": int(np.sum(draws < value)), "n_draws": draws.size})
    return pd.DataFrame(rows)


def rank_uniformity(ranks: np.ndarray, n_draws: int, bins: int = 10) -> float:
    """Chi-square test p-value that SBC ranks are uniform on {0..n_draws}."""
    from scipy.stats import chisquare

    counts, _ = np.histogram(ranks, bins=bins, range=(0, n_draws + 1))
    return float(chisquare(counts).pvalue)


def sbc_simulations(model: pm.Model, indices, settings: SamplerSettings, seed_of,
                    sampling_model: pm.Model | None = None) -> pd.DataFrame:
    """Ranks of the true values among posterior draws for the given simulation indices. Each
    simulation's seed depends only on its index (`seed_of(i)`), so batching does not change results."""
    tables = []
    for i in indices:
        truth, tree = recover(model, settings, seed_of(i), sampling_model)
        # about 100 draws in all, so ranks are close to independent despite autocorrelation
        table = coverage(truth, tree, prob=0.9, thin=max(1, settings.draws * settings.chains // 100))
        table.insert(0, "simulation", i)
        table["divergences"] = int(tree["sample_stats"]["diverging"].sum())
        tables.append(table)
        log.info("SBC: simulation %d done (%d/%d in this batch, %d divergences)", i, len(tables), len(indices),
                 int(table["divergences"].iloc[0]))
    return pd.concat(tables, ignore_index=True)


def sbc_summary(ranks: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: chi-square uniformity p-value of the ranks and the 90% interval coverage."""
    rows = []
    for name, part in ranks.groupby("parameter", sort=True):
        rows.append({"parameter": name, "simulations": len(part),
                     "p_uniform": rank_uniformity(part["rank"].to_numpy(), int(part["n_draws"].iloc[0])),
                     "coverage_90": float(part["covered"].mean())})
    return pd.DataFrame(rows)
