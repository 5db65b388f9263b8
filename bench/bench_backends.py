"""Benchmark: M1 on the default data under each sampler backend, and the same ODE solved by
`pymc.ode.DifferentialEquation` (PyMC's general ODE op) on a time cap, for scale.

Usage: python bench/bench_backends.py [--draws 1000] [--ode-cap-seconds 600] [--out bench/results.md]
Writes a markdown table: wall time (compile and sampling apart), min bulk ESS, ESS/s, ratios.
"""

import argparse
import os
import time
import tracemalloc
from datetime import date
from pathlib import Path

import numpy as np
import pymc as pm
import yaml

from mgbone.data import load_selection
from mgbone.inference.backends import SamplerSettings, fit
from mgbone.inference.diagnostics import parameter_diagnostics
from mgbone.models import get_model
from mgbone.models.observations import build_observations

ROOT = Path(__file__).resolve().parents[1]
# data/ and config/ are read from here; MGBONE_BENCH_ROOT points the benchmarks at another copy, e.g. a
# `git archive HEAD data config` snapshot while the working tree's data are being edited
DATA_ROOT = Path(os.environ.get("MGBONE_BENCH_ROOT", ROOT))


def design():
    config = yaml.safe_load((DATA_ROOT / "config/config.yaml").read_text())
    dataset, provenance = load_selection(DATA_ROOT / "data", config["default_studies"])
    return build_observations(dataset, reference_groups=provenance["reference_groups"])


def run_backend(obs, backend: str, draws: int, mass_matrix: str) -> dict:
    model_def = get_model("M1")
    start = time.perf_counter()
    model = model_def.build(model_def.fits(obs))
    build = time.perf_counter() - start
    settings = SamplerSettings(backend=backend, chains=4, draws=draws, tune=draws, target_accept=0.95,
                               prior_draws=10, mass_matrix=mass_matrix)
    tracemalloc.start()
    start = time.perf_counter()
    tree, timings = fit(model, settings, seed=1, cores=2)
    wall = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    ess = float(parameter_diagnostics(tree)["ess_bulk"].min())
    sampling = timings["sampling_s"]
    return {"method": f"M1, closed form, {backend} ({mass_matrix})", "build_s": build, "sampling_s": sampling,
            "wall_s": wall, "min_ess_bulk": ess, "ess_per_s": ess / sampling,
            "divergences": int(tree["sample_stats"]["diverging"].sum()), "peak_python_mib": peak}


def run_differential_equation(obs, cap_seconds: float) -> dict:
    """The M1 cascade through pymc.ode.DifferentialEquation on the rat study only (reduced problem),
    sampled with PyMC NUTS for at most `cap_seconds`; reported as a bound."""
    from pymc.ode import DifferentialEquation

    from mgbone.models.mechanistic import mg_deficit

    model_def = get_model("M1")
    fitted = model_def.fits(obs).contrasts
    rat = fitted[fitted["study_id"] == "Rude1998"]
    states = list(model_def.states)
    n = len(states)

    def rhs(y, t, p):
        params = {name: p[i] for i, name in enumerate(ODE_PARAMS)}
        terms = model_def.terms(model_def._rates(params, params["speed"]), 0.0)  # rats: no human ageing term
        out = [pm.math.constant(0.0) * y[0] for _ in range(n)]
        for row, col, coef in terms:
            out[states.index(row)] = out[states.index(row)] + coef * y[states.index(col)]
        return out

    ODE_PARAMS = ["mg_equilibration_rate", "inflammation_rate", "inflammation_gain", "osteoclast_rate",
                  "osteoblast_rate", "bone_turnover_rate", "no_osteoclast_gain", "inflammation_osteoclast_gain",
                  "mg_osteoblast_gain", "estrogen_osteoclast_gain", "estrogen_formation_deficit",
                  "estrogen_decay_time", "ageing_loss_rate", "speed"]
    from mgbone.models.priors import PRIORS

    ode = DifferentialEquation(func=rhs, times=[12.0], n_states=n, n_theta=len(ODE_PARAMS), t0=0)
    with pm.Model() as model:
        p = [PRIORS[k].rv() if k in PRIORS else pm.LogNormal("speed", np.log(5), 0.5) for k in ODE_PARAMS]
        elasticity = PRIORS["mg_elasticity"].rv()
        threshold = PRIORS["mg_sufficiency_threshold"].rv()
        target = -elasticity * mg_deficit(np.array(0.04), threshold, pm.math)
        y0 = [target if s == "mg_target" else (1.0 if s == "ageing" else 0.0) for s in states]
        solution = ode(y0=y0, theta=p)
        rows = [states.index(q) for q in rat["quantity"]]
        mu = solution[0, rows]
        noise = PRIORS["noise"].rv()
        pm.Normal("y", mu, pm.math.sqrt(rat["se"].fillna(0).to_numpy() ** 2 + noise**2), observed=rat["y"].to_numpy())
    start = time.perf_counter()
    draws_done = 0
    try:
        idata = pm.sample(draws=50, tune=50, chains=1, cores=1, model=model, random_seed=1, progressbar=False,
                          compute_convergence_checks=False)
        draws_done = 100
        ess = float(parameter_diagnostics(idata)["ess_bulk"].min())
    except Exception as err:  # report, do not hide
        ess = float("nan")
        print("DifferentialEquation run failed:", err)
    elapsed = time.perf_counter() - start
    return {"method": "M1 on Rude1998 only, pymc.ode.DifferentialEquation, PyMC NUTS (1 chain x 100)",
            "build_s": 0.0, "sampling_s": elapsed, "wall_s": elapsed, "min_ess_bulk": ess,
            "ess_per_s": ess / elapsed if draws_done else float("nan"), "divergences": -1,
            "peak_python_mib": float("nan"), "note": f"cap {cap_seconds:.0f} s"}


def markdown(rows: list[dict]) -> str:
    head = "| method | build (s) | sampling (s) | wall (s) | min bulk ESS | ESS/s | divergences | peak Python MiB |\n"
    head += "|---|---|---|---|---|---|---|---|\n"
    return head + "".join(
        f"| {r['method']} | {r['build_s']:.1f} | {r['sampling_s']:.1f} | {r['wall_s']:.1f} | {r['min_ess_bulk']:.0f} | "
        f"{r['ess_per_s']:.2f} | {r['divergences']} | {r['peak_python_mib']:.0f} |\n" for r in rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--backends", default="nutpie,numpyro,pymc")
    parser.add_argument("--ode-cap-seconds", type=float, default=600)
    parser.add_argument("--skip-ode", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench/results.md"))
    args = parser.parse_args()
    obs = design()
    rows = []
    for backend in [b for b in args.backends.split(",") if b]:
        for mass in (["low_rank", "diag"] if backend == "nutpie" else ["diag"]):
            rows.append(run_backend(obs, backend, args.draws, mass))
            print(markdown(rows[-1:]), flush=True)
    if not args.skip_ode:
        try:
            rows.append(run_differential_equation(obs, args.ode_cap_seconds))
        except Exception as err:  # a failed comparison is a result too: record it
            rows.append({"method": f"pymc.ode.DifferentialEquation: failed ({type(err).__name__}: {err})",
                         "build_s": float("nan"), "sampling_s": float("nan"), "wall_s": float("nan"),
                         "min_ess_bulk": float("nan"), "ess_per_s": float("nan"), "divergences": -1,
                         "peak_python_mib": float("nan")})
    text = f"Measured {date.today()} ({args.draws} tune + {args.draws} draws x 4 chains, 2 cores)\n\n" + markdown(rows)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
