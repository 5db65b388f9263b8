"""Parameter recovery and simulation-based calibration (Talts et al. 2018) on the real study design.

Data are SYNTHETIC: simulated from the model at the contrasts of the real studies (same groups,
times and reported standard errors), so they test the inference, not the evidence.
"""

import logging
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr
from pymc.pytensorf import compile as compile_pymc, reseed_rngs

from mgbone.inference.backends import SamplerSettings, fit_each
from mgbone.models.likelihood import OBSERVED_DATA

log = logging.getLogger(__name__)
# a recovery fit's sampler seed: the simulation's seed plus this (kept from earlier releases: same numbers)
FIT_SEED_OFFSET = 17


def scalar_parameters(model: pm.Model) -> list[str]:
    """Free scalar parameters on their natural scale (the quantities calibration is judged on)."""
    return [rv.name for rv in model.free_RVs if rv.ndim == 0]


def simulator(model: pm.Model) -> Callable[[int], tuple[dict[str, float], dict[str, np.ndarray]]]:
    """seed -> one prior draw of the parameters and of every observation they imply (point contrasts and
    directions: calibrating on simulated contrasts beside the real directions would condition on data from another
    world). Compiled once and reseeded per call exactly as `pm.draw(..., random_seed=seed)` seeds (same numbers):
    `pm.draw` compiles on every call, 19 s a draw on the all-studies M0."""
    names = scalar_parameters(model)
    observed = [name for name in OBSERVED_DATA if name in model.named_vars]
    draw, updates = compile_pymc(inputs=[], outputs=[model[n] for n in names + observed], random_seed=False,
                                 return_updates=True)
    rngs = list(updates)

    def simulate(seed: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        reseed_rngs(rngs, seed)
        draws = draw()
        truth = {n: float(v) for n, v in zip(names, draws[: len(names)], strict=True)}
        return truth, {OBSERVED_DATA[n]: np.asarray(v, float) for n, v in zip(observed, draws[len(names):], strict=True)}

    return simulate


def recoveries(model: pm.Model, settings: SamplerSettings, seeds: Iterable[int],
               sampling_model: pm.Model | None = None) -> Iterator[tuple[dict[str, float], xr.DataTree]]:
    """(truth, posterior) for each seed: data simulated from `model`, fitted by NUTS on `sampling_model` (its
    collapsed form) when given. Simulator and sampler are compiled once for all seeds; each fit only swaps the
    simulated data in (`fit_each`)."""
    simulate = simulator(model)
    cases = [(seed, *simulate(seed)) for seed in seeds]
    runs = [(seed + FIT_SEED_OFFSET, data) for seed, _, data in cases]
    fits = fit_each(model, settings, runs, cores=1, sampling_model=sampling_model)
    for (_, truth, _), (tree, _) in zip(cases, fits, strict=True):
        yield truth, tree


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
    indices = list(indices)
    tables = []
    for i, (truth, tree) in zip(indices, recoveries(model, settings, map(seed_of, indices), sampling_model),
                                strict=True):
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
