"""Run NUTS with the backend a config names (PyMC, nutpie or numpyro) and keep what LOO needs."""

import dataclasses
import logging
import os
import time
from dataclasses import dataclass

import numpy as np
import pymc as pm
import xarray as xr
from threadpoolctl import threadpool_limits

from mgbone.models.likelihood import COLLAPSED, complete_study_deviations

BACKENDS = ("pymc", "nutpie", "numpyro")
# Chains start at the prior's support point plus U(-INIT_JITTER, +INIT_JITTER) on the unconstrained scale.
# Why not nutpie's default U(-1, +1): an e-fold jitter of every rate and gain sent some chains of the
# all-studies M1 fit into stiff corners where warm-up crawled (seed 1 warmed up in 45 s, seeds 2 and 3 had
# not finished after 5 min); 0.2 keeps the chains apart (R-hat still compares different starts) and every
# seed tried warmed up in 1-2 min. Why any jitter: at the support point the gradient of each non-centred
# spread (study_spread) is exactly zero, which nutpie rejects as an initial point.
INIT_JITTER = 0.2
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SamplerSettings:
    backend: str = "nutpie"
    chains: int = 4
    draws: int = 1000
    tune: int = 1000
    target_accept: float = 0.9
    prior_draws: int = 500
    # "diag" or "low_rank": nutpie adapts a low-rank mass matrix from gradients (Seyboldt 2024),
    # which follows the correlated ridges of ODE posteriors; numpyro then uses a dense mass matrix
    mass_matrix: str = "diag"

    @classmethod
    def from_config(cls, config: dict) -> "SamplerSettings":
        settings = cls(**config)
        if settings.backend not in BACKENDS:
            raise ValueError(f"sampler backend {settings.backend!r} is not one of {BACKENDS}")
        return settings


class ProgressLog:
    """Log sampling progress every `every` seconds: draws done per chain, divergences, chains finished."""

    def __init__(self, total_per_chain: int, chains: int, every: float = 15.0):
        self.total, self.chains, self.every = total_per_chain, chains, every
        self.last = 0.0
        self.done = 0
        self.pymc_counts: dict[int, int] = {}

    def _emit(self, done: list[int], divergences: int | None) -> None:
        now = time.monotonic()
        finished = sum(d >= self.total for d in done)
        if now - self.last < self.every and finished == self.done:
            return
        self.last, self.done = now, finished
        share = 100.0 * sum(done) / (self.total * self.chains)
        extra = f", {divergences} divergences" if divergences is not None else ""
        log.info("sampling %.0f%% (draws per chain %s), %d of %d chains finished%s", share,
                 "/".join(str(d) for d in done), finished, self.chains, extra)

    def nutpie(self, progress) -> None:
        self._emit([p.finished_draws for p in progress], sum(p.divergences for p in progress))

    def pymc(self, trace, draw) -> None:
        self.pymc_counts[draw.chain] = self.pymc_counts.get(draw.chain, 0) + 1
        counts = [self.pymc_counts.get(c, 0) for c in range(self.chains)]
        self._emit(counts, None)


def _merge(tree: xr.DataTree, other: xr.DataTree) -> xr.DataTree:
    for name, node in other.children.items():
        if name not in tree.children:
            tree[name] = node
    return tree


def usable_cores(requested: int, chains: int) -> int:
    """Chains run in parallel up to the cores this process may use: more threads than cores made every gradient
    call slower (contention in the compiled code), and each chain has its own seed, so the draws do not depend on it."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(requested, chains, available))


def _with_init_jitter(compiled, scale: float = INIT_JITTER):
    """nutpie's compiled model (built without start jitter) with each chain started at its support point plus
    U(-scale, scale) on the unconstrained scale, drawn from the seed nutpie passes for that chain."""
    centre = np.asarray(compiled.initial_point_func(0), dtype=float)

    def jittered(seed):
        return centre + np.random.default_rng(seed).uniform(-scale, scale, size=centre.size)

    return dataclasses.replace(compiled, initial_point_func=jittered)


def _compile_nutpie(model: pm.Model):
    import nutpie

    return nutpie.compile_pymc_model(model, backend="numba", jitter_rvs=set())


def _sample_nutpie(model: pm.Model, settings: SamplerSettings, seed: int, cores: int, progress,
                   compiled=None) -> xr.DataTree:
    """nutpie called directly so its progress reaches the log (PyMC keeps the callback for its bar); `compiled`
    (the model's compiled form, possibly with other shared data) skips compiling again."""
    import nutpie
    from pymc.backends.arviz import patch_nutpie_idata

    compiled = _with_init_jitter(compiled if compiled is not None else _compile_nutpie(model))
    start = time.perf_counter()
    tree = nutpie.sample(compiled, draws=settings.draws, tune=settings.tune, chains=settings.chains,
                         cores=usable_cores(cores, settings.chains), seed=seed, target_accept=settings.target_accept,
                         progress_bar=False, progress_callback=progress.nutpie, progress_rate=2000,
                         adaptation=settings.mass_matrix)
    patch_nutpie_idata(tree, model, sampling_time=time.perf_counter() - start)
    return tree


def _run_nuts(model: pm.Model, settings: SamplerSettings, seed: int, cores: int, progress: ProgressLog) -> xr.DataTree:
    if settings.backend == "nutpie":
        return _sample_nutpie(model, settings, seed, cores, progress)
    return pm.sample(
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        cores=usable_cores(cores, settings.chains),
        target_accept=settings.target_accept,
        nuts_sampler=settings.backend,
        random_seed=seed,
        model=model,
        progressbar=settings.backend == "numpyro",  # PyMC's own sampler reports through `progress`
        compute_convergence_checks=False,
        **({"callback": progress.pymc} if settings.backend == "pymc" else {}),
        **({"nuts": {"dense_mass": True}} if settings.backend == "numpyro" and settings.mass_matrix == "low_rank"
           else {}),
    )


def complete(tree: xr.DataTree, model: pm.Model, seed: int) -> xr.DataTree:
    """A posterior sampled on the collapsed form of `model` as `model`'s: the integrated-out study
    deviations drawn from their exact conditionals (`likelihood.complete_study_deviations`), then `model`'s
    deterministics recomputed from every draw (they include those deviations)."""
    if COLLAPSED["precision"] not in tree["posterior"].dataset:  # nothing was integrated out
        return tree
    posterior = complete_study_deviations(tree["posterior"].dataset, model.coords, np.random.default_rng([seed, 4]))
    deterministics = pm.compute_deterministics(posterior, model=model, progressbar=False)
    tree["posterior"] = posterior.assign(**{name: deterministics[name] for name in deterministics.data_vars})
    return tree


def fit(model: pm.Model, settings: SamplerSettings, seed: int, cores: int = 1,
        sampling_model: pm.Model | None = None) -> tuple[xr.DataTree, dict]:
    """Prior predictive, NUTS posterior, pointwise log-likelihood and posterior predictive, with timings.
    NUTS runs on `sampling_model` when given (`model` with its point-only study deviations integrated out,
    `BoneModel.build(..., collapse=True)`); everything after it on `model`."""
    sampling_model = model if sampling_model is None else sampling_model
    timings = {}
    start = time.perf_counter()
    log.info("prior predictive: %d draws", settings.prior_draws)
    prior = pm.sample_prior_predictive(draws=settings.prior_draws, model=model, random_seed=seed + 1)
    timings["prior_predictive_s"] = time.perf_counter() - start
    log.info("NUTS with %s: %d chains x (%d tune + %d draws), target_accept=%.2f",
             settings.backend, settings.chains, settings.tune, settings.draws, settings.target_accept)
    start = time.perf_counter()
    progress = ProgressLog(settings.tune + settings.draws, settings.chains)
    # one BLAS thread per chain: chains already run in parallel, and OpenBLAS threads on top of them
    # oversubscribed the cores (two M1 chains on two cores: 240 s with default BLAS threads, 119 s with one)
    with threadpool_limits(limits=1, user_api="blas"):
        tree = _run_nuts(sampling_model, settings, seed, cores, progress)
    timings["sampling_s"] = time.perf_counter() - start
    log.info("sampling finished: %d chains done in %.1f s", settings.chains, timings["sampling_s"])
    start = time.perf_counter()
    tree = complete(tree, model, seed)
    tree = pm.compute_log_likelihood(tree, model=model, progressbar=False)
    tree = pm.sample_posterior_predictive(tree, model=model, random_seed=seed + 2, progressbar=False,
                                          extend_inferencedata=True)
    timings["posterior_predictive_s"] = time.perf_counter() - start
    tree = _merge(tree, prior)
    return tree, timings


def fit_each(model: pm.Model, settings: SamplerSettings, runs, cores: int = 1, sampling_model: pm.Model | None = None):
    """NUTS posterior of `model` for each (seed, shared-data values) of `runs`, yielded as they finish (sampled on
    `sampling_model` when given, as in `fit`).

    The model is compiled once (nutpie) and each run only swaps its shared data (e.g. the leave-one-study-out
    masks): on the all-studies M1 graph a cold compile took 192 s, a cache-warm one 44 s, and a swap none.
    No prior predictive and no log-likelihood: callers take what they need from the draws.
    """
    sampling_model = model if sampling_model is None else sampling_model
    compiled = _compile_nutpie(sampling_model) if settings.backend == "nutpie" else None
    for seed, data in runs:
        progress = ProgressLog(settings.tune + settings.draws, settings.chains)
        start = time.perf_counter()
        with threadpool_limits(limits=1, user_api="blas"):
            if compiled is not None:
                tree = _sample_nutpie(sampling_model, settings, seed, cores, progress, compiled.with_data(**data))
            else:
                pm.set_data(data, model=sampling_model)
                tree = _run_nuts(sampling_model, settings, seed, cores, progress)
        pm.set_data(data, model=model)
        yield complete(tree, model, seed), time.perf_counter() - start
