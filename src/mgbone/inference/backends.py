"""Run NUTS with the backend a config names (PyMC, nutpie or numpyro) and keep what LOO needs."""

import logging
import time
from dataclasses import dataclass

import pymc as pm
import xarray as xr

BACKENDS = ("pymc", "nutpie", "numpyro")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SamplerSettings:
    backend: str = "nutpie"
    chains: int = 4
    draws: int = 1000
    tune: int = 1000
    target_accept: float = 0.9
    prior_draws: int = 500

    @classmethod
    def from_config(cls, config: dict) -> "SamplerSettings":
        settings = cls(**config)
        if settings.backend not in BACKENDS:
            raise ValueError(f"sampler backend {settings.backend!r} is not one of {BACKENDS}")
        return settings


def _merge(tree: xr.DataTree, other: xr.DataTree) -> xr.DataTree:
    for name, node in other.children.items():
        if name not in tree.children:
            tree[name] = node
    return tree


def fit(model: pm.Model, settings: SamplerSettings, seed: int, cores: int = 1) -> tuple[xr.DataTree, dict]:
    """Prior predictive, NUTS posterior, pointwise log-likelihood and posterior predictive, with timings."""
    timings = {}
    start = time.perf_counter()
    log.info("prior predictive: %d draws", settings.prior_draws)
    prior = pm.sample_prior_predictive(draws=settings.prior_draws, model=model, random_seed=seed + 1)
    timings["prior_predictive_s"] = time.perf_counter() - start
    log.info("NUTS with %s: %d chains x (%d tune + %d draws), target_accept=%.2f",
             settings.backend, settings.chains, settings.tune, settings.draws, settings.target_accept)
    start = time.perf_counter()
    tree = pm.sample(
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        cores=max(1, min(cores, settings.chains)),
        target_accept=settings.target_accept,
        nuts_sampler=settings.backend,
        random_seed=seed,
        model=model,
        progressbar=True,
        compute_convergence_checks=False,
    )
    timings["sampling_s"] = time.perf_counter() - start
    log.info("sampling finished: %d chains done in %.1f s", settings.chains, timings["sampling_s"])
    start = time.perf_counter()
    tree = pm.compute_log_likelihood(tree, model=model, progressbar=False)
    tree = pm.sample_posterior_predictive(tree, model=model, random_seed=seed + 2, progressbar=False,
                                          extend_inferencedata=True)
    timings["posterior_predictive_s"] = time.perf_counter() - start
    tree = _merge(tree, prior)
    return tree, timings
