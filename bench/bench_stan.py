"""Benchmark: M1 on the default data, the project's closed form (nutpie, the pipeline default) against
the same model in Stan through PyStan (`matrix_exp_multiply`, the best Stan program for a linear system;
`ode_rk45`, optionally `ode_bdf`) and at full size through `pymc.ode.DifferentialEquation` (PyMC NUTS, on a
time cap), all in one run.

Usage: python bench/bench_stan.py [--draws 500] [--chains 4] [--stan-solvers matrix_exp,rk45,bdf]
                                  [--ode-cap-seconds 600] [--methods project,stan,ode] [--grad-seconds 3]
                                  [--out bench/results_stan.md]

Gradient cost is timed the way each sampler calls it, at the same 32 points (PyMC's initial point jittered
by U(-1, 1) on the unconstrained scale), from one thread and from two threads at once: for the project,
nutpie's compiled C function (through ctypes); for Stan, `stan::model::log_prob_grad` on a model built once
(bench/stan_grad.cpp, compiled with httpstan's headers and flags; PyStan's HTTP `grad_log_prob` rebuilds the
model from its data on every call and was 40x slower). PyStan stores draws with chains interleaved
(flat index = draw * chains + chain); they are read that way.

Each method runs in its own subprocess, so its peak memory (resident set of the process and all its
children, polled every 0.1 s) is its own. Compile and sampling are timed apart. Before anything is
sampled the run checks that the three programs are one model: the log density (Jacobian and all
constants included) of Stan and of the DifferentialEquation model against the project's PyMC model
at the same unconstrained points. Writes a markdown table and a JSON file next to it.
"""

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))


def load_avg() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def obs_default():
    from bench_backends import design

    return design()


def min_bulk_ess(arrays: dict) -> tuple[float, str]:
    """Min bulk ESS over every scalar of {name: array (chain, draw, ...)}."""
    import arviz as az
    import numpy as np
    import xarray as xr

    ds = xr.Dataset({k: (("chain", "draw", *[f"{k}_dim{i}" for i in range(v.ndim - 2)]), v)
                     for k, v in arrays.items()})
    ess = az.ess(ds, method="bulk")  # a Dataset in, a Dataset out (arviz >= 1.0)
    worst = min(((float(np.min(ess[k].values)), k) for k in ess.data_vars), key=lambda t: t[0])
    return worst


# -- workers (each runs in its own process) -----------------------------------------------------------
def work_project(args) -> dict:
    """The pipeline's default sampler on the closed form: nutpie (numba), low-rank mass matrix."""
    import numpy as np
    import nutpie
    from pymc.backends.arviz import patch_nutpie_idata

    from mgbone.inference.diagnostics import parameter_diagnostics
    from mgbone.models import get_model

    from bench_expm import nutpie_caller, nutpie_points, time_calls

    obs = obs_default()
    m = get_model("M1")
    start = time.perf_counter()
    model = m.build(m.fits(obs))
    compiled = nutpie.compile_pymc_model(model, backend="numba")
    compile_s = time.perf_counter() - start
    grad = time_calls(nutpie_caller(compiled), nutpie_points(model, compiled), args.grad_seconds, [1, 2])
    load_before = load_avg()
    start = time.perf_counter()
    tree = nutpie.sample(compiled, draws=args.draws, tune=args.draws, chains=args.chains, cores=2, seed=1,
                         target_accept=0.95, progress_bar=False, adaptation="low_rank")
    sampling_s = time.perf_counter() - start
    patch_nutpie_idata(tree, model, sampling_time=sampling_s)
    table = parameter_diagnostics(tree)
    stats = tree["sample_stats"]
    import m1_stan

    names = {n for n, _ in m1_stan.stan_parameter_names(m1_stan.stan_data_matrix_exp(obs))}
    same, same_worst = min_bulk_ess({k: tree["posterior"][k].values for k in names})  # the Stan rows' parameters
    return {"compile_s": compile_s, "grad_us": grad["1"]["us_per_call"], "grad_us_2threads": grad["2"]["us_per_call"],
            "grad_timing": grad, "sampling_s": sampling_s, "min_ess_bulk": float(table["ess_bulk"].min()),
            "min_ess_bulk_stan_parameters": same, "worst_stan_parameters": same_worst,
            "worst": table.loc[table["ess_bulk"].idxmin(), "parameter"], "max_rhat": float(table["r_hat"].max()),
            "divergences": int(stats["diverging"].sum()), "gradients": int(np.sum(stats["n_steps"].values)),
            "load_before": load_before, "load_after": load_avg(),
            "posterior_mean": {k: float(tree["posterior"][k].mean()) for k in ("mg_sufficiency_threshold",
                               "bone_turnover_rate", "estrogen_osteoclast_gain", "rodent_speed_mean")}}


def cpp_gradient(code: str, data: dict, points: list[list[float]], seconds: float, threads: int = 2) -> dict:
    """Build bench/stan_grad.cpp with the stanc C++ of `code` (httpstan's stanc, headers, macros and -O3) and
    time `log_prob_grad` on a model built once; also returns log density and gradient at every point."""
    import hashlib

    import httpstan
    import httpstan.compile

    pkg = Path(httpstan.__file__).resolve().parent
    name = "model_" + hashlib.sha256(code.encode()).hexdigest()[:16]
    build = Path(tempfile.mkdtemp(prefix="stan_grad_"))
    cpp, _ = httpstan.compile.compile(code, name)
    (build / f"{name}.cpp").write_text(cpp)
    (build / "data.json").write_text(json.dumps(data))
    (build / "points.txt").write_text("\n".join(" ".join(repr(float(v)) for v in p) for p in points) + "\n")
    exe = build / "stan_grad"
    cmd = ["g++", "-O3", "-std=c++17", "-Wno-sign-compare", "-DBOOST_DISABLE_ASSERTS",
           "-DBOOST_PHOENIX_NO_VARIADIC_EXPRESSION", "-DSTAN_THREADS", "-D_REENTRANT", "-D_GLIBCXX_USE_CXX11_ABI=0",
           f'-DMODEL_CPP="{build / name}.cpp"', f"-I{pkg / 'include'}", str(HERE / "stan_grad.cpp"), "-o", str(exe),
           f"-L{pkg / 'lib'}", "-ltbb", "-lsundials_cvodes", "-lsundials_idas", "-lsundials_nvecserial",
           f"-Wl,-rpath,{pkg / 'lib'}", "-pthread"]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    build_s = time.perf_counter() - start
    load_before = load_avg()
    out = subprocess.run([str(exe), str(build / "data.json"), str(build / "points.txt"), str(seconds), str(threads)],
                         check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    result.update({"build_s": build_s, "load_before": load_before, "load_after": load_avg()})
    return result


def stan_program(solver: str, obs) -> tuple[str, dict]:
    import m1_stan

    if solver == "matrix_exp":
        code = m1_stan.stan_code_matrix_exp()
        (HERE / "m1_matrix_exp.stan").write_text(code)  # the program measured, committed under bench/
        return code, m1_stan.stan_data_matrix_exp(obs)
    return m1_stan.stan_code(solver), m1_stan.stan_data(obs)


def pystan_draws(fit, pname: str, chains: int, draws: int):
    """PyStan's fit[name] (..., draws * chains), chains interleaved (flat index = draw * chains + chain), as
    (chain, draw, ...)."""
    import numpy as np

    a = np.asarray(fit[pname])
    a = a.reshape(*a.shape[:-1], draws, chains)
    return np.moveaxis(np.moveaxis(a, -1, 0), -1, 1)


def work_stan(args, solver: str) -> dict:
    import httpstan.cache
    import httpstan.models
    import numpy as np
    import stan

    from mgbone.models import get_model

    import m1_stan
    from bench_expm import jittered_points

    obs = obs_default()
    code, data = stan_program(solver, obs)
    m = get_model("M1")
    model = m.build(m.fits(obs))
    pymc_points = jittered_points(model)
    points = [m1_stan.pymc_point_to_stan(p, data).tolist() for p in pymc_points]
    grad = cpp_gradient(code, data, points, args.grad_seconds)
    # Stan's gradient and log density (propto = false) against PyMC's at the same points
    logp, dlogp = model.compile_logp(jacobian=True), model.compile_dlogp(jacobian=True)
    order = [(v.name, model.values_to_rvs[v].name) for v in model.value_vars]
    grad_rel, logp_rel = 0.0, 0.0
    for p, row in zip(pymc_points, grad.pop("values"), strict=True):
        ref_lp, ref_g = float(logp(p)), np.asarray(dlogp(p))
        sizes = {k: int(np.size(p[k])) for k, _ in order}
        offsets = dict(zip([k for k, _ in order], np.cumsum([0] + [sizes[k] for k, _ in order])[:-1], strict=True))
        stan_g = []
        for name, i in m1_stan.stan_parameter_names(data):
            key = f"{name}_log__" if f"{name}_log__" in p else name
            stan_g.append(ref_g[offsets[key] + (0 if i is None else i)])
        logp_rel = max(logp_rel, abs(row[0] - ref_lp) / max(1.0, abs(ref_lp)))
        grad_rel = max(grad_rel, float(np.max(np.abs(np.subtract(row[1:], stan_g)) / np.maximum(1.0, np.abs(stan_g)))))
    name = httpstan.models.calculate_model_name(code)
    cached = name in httpstan.cache.list_model_names()
    if cached:  # time a real compile, not a cache hit
        httpstan.cache.delete_model_directory(name)
    start = time.perf_counter()
    posterior = stan.build(code, data=data, random_seed=1)
    compile_s = time.perf_counter() - start
    equivalence = m1_stan.check_equivalence(obs, posterior, n_points=20, data=data)
    load_before = load_avg()
    start = time.perf_counter()
    # started like the project's samplers (prior medians jittered), not Stan's U(-2, 2): see m1_stan.stan_inits
    fit = posterior.sample(num_chains=args.chains, num_samples=args.draws, num_warmup=args.draws, delta=0.95,
                           init=m1_stan.stan_inits(obs, args.chains))
    sampling_s = time.perf_counter() - start
    arrays = {}
    for pname, _ in m1_stan.stan_parameter_names(data):
        if pname not in arrays:
            arrays[pname] = pystan_draws(fit, pname, args.chains, args.draws)
    # keep the draws before anything else can fail (a 40-minute run was once lost to a summary bug)
    np.savez_compressed(HERE / f"draws_stan_{solver}.npz", **arrays,
                        n_leapfrog=pystan_draws(fit, "n_leapfrog__", args.chains, args.draws),
                        divergent=pystan_draws(fit, "divergent__", args.chains, args.draws))
    ess, worst = min_bulk_ess(arrays)
    import xarray as xr
    from arviz import rhat

    r = rhat(xr.Dataset({k: (("chain", "draw", *[f"{k}_{i}" for i in range(v.ndim - 2)]), v)
                         for k, v in arrays.items()}))
    max_rhat = max(float(np.max(r[k].values)) for k in arrays)
    return {"compile_s": compile_s, "compile_was_cached": cached, "grad_us": grad["us_per_call_1"],
            "grad_us_2threads": grad.get("us_per_call_threads"), "grad_harness": grad,
            "grad_vs_project": {"logp_max_rel_diff": logp_rel, "grad_max_rel_diff": grad_rel},
            "sampling_s": sampling_s, "min_ess_bulk": ess,
            "worst": worst, "max_rhat": max_rhat, "divergences": int(np.sum(fit["divergent__"])),
            "gradients": int(np.sum(fit["n_leapfrog__"])), "load_before": load_before, "load_after": load_avg(),
            "equivalence": {k: equivalence[k] for k in ("points", "max_abs_diff", "max_rel_diff")},
            "posterior_mean": {k: float(np.mean(arrays[k])) for k in ("mg_sufficiency_threshold",
                               "bone_turnover_rate", "estrogen_osteoclast_gain", "rodent_speed_mean")}}


def work_ode(args, progress_file: str) -> dict:
    """Full-size M1 through DifferentialEquation: equivalence and gradient cost first, then PyMC NUTS
    (one chain, `--draws` tune + draws) until done or killed by the parent at the cap."""
    import warnings

    import numpy as np
    import pymc as pm

    from mgbone.models import get_model

    import m1_ode

    warnings.filterwarnings("ignore", message="Numba will use object mode")
    obs = obs_default()
    m = get_model("M1")
    reference = m.build(m.fits(obs))
    start = time.perf_counter()
    model = m1_ode.build(obs)
    dlogp = model.compile_dlogp()
    logp = model.compile_logp()
    compile_s = time.perf_counter() - start
    ref_logp, ref_dlogp = reference.compile_logp(), reference.compile_dlogp()
    rng = np.random.default_rng(0)
    points = [{k: v + rng.normal(0, 0.3, size=np.shape(v)) for k, v in reference.initial_point().items()}
              for _ in range(10)]
    logp_diff = max(abs(float(logp(p) - ref_logp(p))) for p in points)
    grad_rel = max(float(np.max(np.abs(dlogp(p) - ref_dlogp(p)) / np.maximum(1, np.abs(ref_dlogp(p))))) for p in points)
    t0 = time.perf_counter()
    for p in points:
        dlogp(p)
    grad_s = (time.perf_counter() - t0) / len(points)
    t0 = time.perf_counter()
    for p in points:
        ref_dlogp(p)
    ref_grad_s = (time.perf_counter() - t0) / len(points)
    info = {"compile_s": compile_s, "logp_max_abs_diff_vs_project": logp_diff, "grad_max_rel_diff_vs_project": grad_rel,
            "grad_s": grad_s, "project_grad_s_pymc": ref_grad_s}
    Path(progress_file).write_text(json.dumps({**info, "draws": 0, "gradients": 0, "elapsed": 0.0}))
    counter = {"draws": 0, "gradients": 0}
    sampling_start = time.perf_counter()

    def callback(trace, draw):
        counter["draws"] += 1
        counter["gradients"] += int(draw.stats[0].get("n_steps", 0))
        elapsed = time.perf_counter() - sampling_start
        Path(progress_file).write_text(json.dumps({**info, **counter, "elapsed": elapsed, "load_after": load_avg()}))
        if elapsed > args.ode_cap_seconds:  # the cap covers sampling only; the parent reads the progress file
            os._exit(0)

    info["load_before"] = load_avg()
    idata = pm.sample(draws=args.draws, tune=args.draws, chains=1, cores=1, model=model, random_seed=1,
                      progressbar=False, compute_convergence_checks=False, callback=callback, target_accept=0.95)
    sampling_s = time.perf_counter() - sampling_start
    from mgbone.inference.diagnostics import parameter_diagnostics

    ess = float(parameter_diagnostics(idata)["ess_bulk"].min())
    return {**info, **counter, "sampling_s": sampling_s, "min_ess_bulk": ess, "finished": True,
            "load_after": load_avg()}


# -- parent ---------------------------------------------------------------------------------------------
def tree_rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_worker(method: str, args, timeout: float | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out, progress = Path(tmp) / "out.json", Path(tmp) / "progress.json"
        cmd = [sys.executable, __file__, "--worker", method, "--worker-out", str(out), "--progress", str(progress),
               "--draws", str(args.draws), "--chains", str(args.chains),
               "--ode-cap-seconds", str(args.ode_cap_seconds), "--grad-seconds", str(args.grad_seconds)]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, start_new_session=True)
        peak = [0]
        done = threading.Event()

        def poll():
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss(proc.pid))
                time.sleep(0.1)

        threading.Thread(target=poll, daemon=True).start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGTERM)  # our own worker's process group only
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        done.set()
        wall = time.perf_counter() - start
        if out.exists():
            result = json.loads(out.read_text())
        elif progress.exists():
            result = {**json.loads(progress.read_text()), "finished": False}
        else:
            result = {"error": f"worker exited with {proc.returncode}", "finished": False}
        result.update({"wall_s": wall, "peak_rss_mib": peak[0] / 2**20, "timed_out": timed_out})
        return result


def fmt(x, digits=1):
    if x is None or (isinstance(x, float) and x != x):
        return "–"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def markdown(results: dict, args) -> str:
    rows = []
    b = results.get("ode")
    ref = results.get("stan_matrix_exp") or {}
    c_rate, c_grad = ref.get("ess_per_s"), ref.get("grad_us")

    def ratio(value, against, inverse=False):
        if not value or not against:
            return "–"
        return f"{(against / value if inverse else value / against):.2f}x"

    head = ("| method | compile (s) | µs per logp+grad, 1 thread | 2 threads at once | Stan matrix-exp / this, per gradient "
            "| sampling (s) | min bulk ESS | ESS/s | this / Stan matrix-exp, ESS/s | ESS per 1000 gradients "
            "| divergences | max R-hat | peak RSS MiB | load before/after sampling |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    labels = {"project": "(a) project: closed form (PyTensor `expm`), nutpie numba, low-rank mass matrix",
              "stan_matrix_exp": "(c) Stan via PyStan, `matrix_exp_multiply` (bench/m1_matrix_exp.stan), diag mass matrix",
              "stan_rk45": "(d) Stan via PyStan, `ode_rk45_tol` (rtol = atol = 1e-6), diag mass matrix",
              "stan_bdf": "(d') Stan via PyStan, `ode_bdf_tol` (rtol = atol = 1e-6), diag mass matrix"}
    for key, label in labels.items():
        r = results.get(key)
        if not r or "error" in r:
            if r:
                rows.append(f"| {label} | failed: {r['error']} |||||||||||||\n")
            continue
        ess = r.get("min_ess_bulk_stan_parameters", r["min_ess_bulk"])
        rate = ess / r["sampling_s"]
        rows.append(f"| {label} | {fmt(r['compile_s'])} | {fmt(r.get('grad_us'), 0)} | {fmt(r.get('grad_us_2threads'), 0)} | "
                    f"{ratio(r.get('grad_us'), c_grad, inverse=True)} | {fmt(r['sampling_s'])} | {ess:.0f} | {rate:.2f} | "
                    f"{ratio(rate, c_rate)} | {1000 * ess / max(r['gradients'], 1):.1f} | {r['divergences']} | "
                    f"{r['max_rhat']:.3f} | {r['peak_rss_mib']:.0f} | {r['load_before']} / {r['load_after']} |\n")
    if b:
        status = "finished" if b.get("finished") else f"stopped at the {args.ode_cap_seconds:.0f} s cap"
        rows.append(f"| (b) `pymc.ode.DifferentialEquation`, full size (16 odeint ops), PyMC NUTS, 1 chain, {status} "
                    f"after {b.get('draws', 0)} of {2 * args.draws} iterations | {fmt(b.get('compile_s'))} | "
                    f"{fmt(1e6 * b['grad_s'], 0) if b.get('grad_s') else '–'} (PyMC) | – | "
                    f"{ratio(1e6 * b['grad_s'] if b.get('grad_s') else None, c_grad, inverse=True)} | "
                    f"{fmt(b.get('elapsed', b.get('sampling_s')))} | {fmt(b.get('min_ess_bulk'), 0)} | "
                    f"<= {b['ess_per_s_bound']:.4f} (bound) | {ratio(b['ess_per_s_bound'], c_rate)} | – | – | – | "
                    f"{b['peak_rss_mib']:.0f} | {b.get('load_before', '–')} / {b.get('load_after', '–')} |\n")
    return head + "".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=500, help="tune = draws, per chain")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--methods", default="project,stan,ode")
    parser.add_argument("--stan-solvers", default="matrix_exp,rk45")
    parser.add_argument("--grad-seconds", type=float, default=3.0, help="per gradient timing (1 and 2 threads)")
    parser.add_argument("--ode-cap-seconds", type=float, default=600)
    parser.add_argument("--out", default=str(HERE / "results_stan.md"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    parser.add_argument("--progress", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        if args.worker == "project":
            result = work_project(args)
        elif args.worker.startswith("stan_"):
            result = work_stan(args, args.worker.removeprefix("stan_"))
        else:
            result = work_ode(args, args.progress)
        Path(args.worker_out).write_text(json.dumps(result))
        return

    methods = [m for m in args.methods.split(",") if m]
    results = {}
    json_out = Path(args.out).with_suffix(".json")
    if json_out.exists():  # keep earlier methods of the same run when re-running one
        results = json.loads(json_out.read_text()).get("results", {})
    order = (["project"] if "project" in methods else []) + \
            ([f"stan_{s}" for s in args.stan_solvers.split(",")] if "stan" in methods else []) + \
            (["ode"] if "ode" in methods else [])
    for method in order:
        print(f"== {method} (load {load_avg()})", flush=True)
        if method == "ode":
            r = run_worker(method, args, timeout=args.ode_cap_seconds + 900)  # safety net; the worker stops itself
            sampling = r.get("sampling_s") or r.get("elapsed") or float("nan")
            if r.get("finished"):
                r["ess_per_s_bound"] = r["min_ess_bulk"] / sampling
            else:
                # one effective draw per completed iteration, at the pace of the iterations done so far
                # (early warm-up: later iterations may be cheaper, so see the README's projection too)
                r["ess_per_s_bound"] = max(r.get("draws", 0), 1) / sampling
        else:
            r = run_worker(method, args)
            if "error" not in r:  # min over the parameters the Stan programs declare (the same set for all rows)
                r["ess_per_s"] = r.get("min_ess_bulk_stan_parameters", r["min_ess_bulk"]) / r["sampling_s"]
        r["measured"] = datetime.now().isoformat(timespec="seconds")
        results[method] = r
        print(json.dumps(r, indent=1), flush=True)
        meta = {"machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores (shared CPU)",
                "draws": args.draws, "chains": args.chains, "ode_cap_seconds": args.ode_cap_seconds}
        json_out.write_text(json.dumps({"meta": meta, "results": results}, indent=1))
        text = (f"Measured {datetime.now():%Y-%m-%d %H:%M} on {meta['machine']}; {args.chains} chains x "
                f"({args.draws} tune + {args.draws} draws), target_accept / delta 0.95.\n\n" + markdown(results, args))
        Path(args.out).write_text(text)
    print(Path(args.out).read_text())


if __name__ == "__main__":
    main()
