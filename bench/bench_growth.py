"""Benchmark: how pull, fit and summarising grow with the number of studies (M1, nutpie).

Usage: python bench/bench_growth.py [--sizes 1,10,100] [--draws 200] [--chains 4] [--sampling-cap 600]
                                    [--out bench/results_growth.md]

Size k fits the default studies plus k-1 SYNTHETIC copies of each, made in a temporary data directory
(never in data/): study `Rude1998` gets copies `Rude1998SyntheticCopy1`, ... (the registry schema
allows letters and digits only in a study id, so no underscore), with the study_id column rewritten,
the checksum recomputed and the registry entry's caveats saying it is a synthetic benchmark copy.
The copies carry the same numbers, so the posterior narrows; the cost is what is measured.

Per size, in its own process:
- pull: `mgbone.data.load_selection` (read, validate, harmonise) alone, then the pipeline's whole
  `mgbone.steps.pull` step (observations, manifest, overview figure) into the temporary directory;
- fit: model build, nutpie (numba) compile, log density + gradient evaluation time (per call and per
  observation; the function nutpie samples, timed through PyMC's compiled logp_dlogp_function on the
  same graph), and a short nutpie run (low-rank mass matrix, `--chains` x (`--draws` tune +
  `--draws` draws), stopped at `--sampling-cap` seconds if not done) with time per gradient;
- summarising: pointwise log-likelihood and posterior predictive (the tail of the fit step) and the
  parameter summary with diagnostics (what diagnose/summarize tabulate).
"""

import argparse
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def load_avg() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def synthetic_data_dir(target: Path, copies: int) -> list[str]:
    """Default studies plus `copies - 1` synthetic copies of each, written under `target`."""
    from mgbone.data.registry import sha256_of

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    registry = yaml.safe_load((ROOT / "data/studies.yaml").read_text())["studies"]
    (target / "studies").mkdir(parents=True)
    (target / "vocabulary.yaml").write_bytes((ROOT / "data/vocabulary.yaml").read_bytes())
    out, studies = {}, []
    for sid in config["default_studies"]:
        source = ROOT / "data" / registry[sid]["file"]
        with open(source, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        column = rows[0].index("study_id")
        for j in range(copies):
            new = sid if j == 0 else f"{sid}SyntheticCopy{j}"
            path = target / "studies" / f"{new}.csv"
            with open(path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(rows[0])
                for row in rows[1:]:
                    writer.writerow([new if i == column else v for i, v in enumerate(row)])
            entry = dict(registry[sid], file=f"studies/{new}.csv", sha256=sha256_of(path))
            if j:
                entry["caveats"] = f"SYNTHETIC benchmark copy {j} of {sid} (bench/bench_growth.py); not a study"
            out[new] = entry
            studies.append(new)
    (target / "studies.yaml").write_text(yaml.safe_dump({"studies": out}, sort_keys=False))
    return studies


def work(size: int, args) -> dict:
    import warnings

    import numpy as np
    import nutpie
    import pymc as pm
    from pymc.backends.arviz import patch_nutpie_idata

    from mgbone import steps
    from mgbone.analysis.summaries import parameter_summary
    from mgbone.data import load_selection
    from mgbone.inference.diagnostics import parameter_diagnostics
    from mgbone.models import get_model

    warnings.filterwarnings("ignore")
    r = {"size": size, "load_before": load_avg()}
    with tempfile.TemporaryDirectory(prefix="mgbone_growth_") as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        studies = synthetic_data_dir(tmp / "data", size)
        r["make_synthetic_s"] = time.perf_counter() - start
        r["studies"] = len(studies)
        start = time.perf_counter()
        dataset, _ = load_selection(tmp / "data", studies)
        r["load_validate_s"] = time.perf_counter() - start
        r["rows"] = len(dataset)
        config = {"data_dir": str(tmp / "data"), "analyses": {"bench": {"model": "M1", "studies": studies}},
                  "observation": {"cohort_exposure_years": 10}}
        out = tmp / "out"
        out.mkdir()
        start = time.perf_counter()
        steps.pull(config, "bench", out / "dataset.csv", out / "groups.csv", out / "manifest.json", out / "overview.png")
        r["pull_step_s"] = time.perf_counter() - start

        m = get_model("M1")
        start = time.perf_counter()
        obs = m.fits(steps.observations(config, steps.read_dataset(out / "dataset.csv"),
                                        steps.read_dataset(out / "groups.csv")))
        model = m.build(obs)
        r["build_s"] = time.perf_counter() - start
        r["contrasts"] = obs.n
        r["parameters"] = int(sum(np.size(v) for v in model.initial_point().values()))

        start = time.perf_counter()
        compiled = nutpie.compile_pymc_model(model, backend="numba")
        r["compile_s"] = time.perf_counter() - start

        fn = model.logp_dlogp_function(ravel_inputs=True)
        fn.set_extra_values({})
        x0 = fn.array_from_point(model.initial_point()) if hasattr(fn, "array_from_point") else None
        if x0 is None:
            x0 = np.concatenate([np.ravel(v) for v in model.initial_point().values()])
        rng = np.random.default_rng(0)
        xs = [x0 + rng.normal(0, 0.3, size=x0.shape) for _ in range(20)]
        fn(xs[0])
        start = time.perf_counter()
        reps = 0
        while time.perf_counter() - start < 3.0:
            for x in xs:
                fn(x)
            reps += len(xs)
        r["grad_eval_ms"] = 1000 * (time.perf_counter() - start) / reps
        r["grad_eval_us_per_contrast"] = 1000 * r["grad_eval_ms"] / obs.n

        draws = args.draws
        r["load_before_sampling"] = load_avg()
        start = time.perf_counter()
        sampler = nutpie.sample(compiled, draws=draws, tune=draws, chains=args.chains, cores=2, seed=1,
                                target_accept=0.95, progress_bar=False, adaptation="low_rank", blocking=False,
                                save_warmup=True)
        def is_finished():
            try:
                return bool(sampler.is_finished)
            except TimeoutError:  # nutpie's background sampler raises instead of answering False
                return False

        while not is_finished() and time.perf_counter() - start < args.sampling_cap:
            time.sleep(0.2)
        finished = is_finished()
        tree = sampler.wait() if finished else sampler.abort()
        r["sampling_s"] = time.perf_counter() - start
        r["sampling_finished"] = bool(finished)
        r["load_after_sampling"] = load_avg()
        grads, iters = 0, 0
        for group in ("warmup_sample_stats", "sample_stats"):
            if group in tree.children and "n_steps" in tree[group].dataset:
                n = tree[group]["n_steps"].values
                grads += int(np.nansum(n))
                iters += int(np.sum(np.isfinite(n) & (n > 0)))
        r["iterations"], r["gradients"] = iters, grads
        r["sampling_ms_per_gradient_per_core"] = 1000 * r["sampling_s"] * min(2, args.chains) / max(grads, 1)
        if finished:
            patch_nutpie_idata(tree, model, sampling_time=r["sampling_s"])
            table = parameter_diagnostics(tree)
            r["min_ess_bulk"] = float(table["ess_bulk"].min())
            r["max_rhat"] = float(table["r_hat"].max())
            r["divergences"] = int(tree["sample_stats"]["diverging"].sum())
            start = time.perf_counter()
            tree = pm.compute_log_likelihood(tree, model=model, progressbar=False)
            tree = pm.sample_posterior_predictive(tree, model=model, random_seed=3, progressbar=False,
                                                  extend_inferencedata=True)
            r["loglik_ppc_s"] = time.perf_counter() - start
            start = time.perf_counter()
            parameter_summary(tree)
            r["summary_s"] = time.perf_counter() - start
    r["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    r["load_after"] = load_avg()
    return r


def fmt(r, key, digits=1):
    v = r.get(key)
    if v is None:
        return "–"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def markdown(rows: list[dict], args) -> str:
    head = ("| size | studies (synthetic) | rows | contrasts | parameters | load+validate (s) | pull step (s) | "
            "build (s) | nutpie compile (s) | logp+grad (ms) | per contrast (µs) | sampling (s) | iterations | "
            "gradients | ms per gradient (per core) | min bulk ESS | loglik+PPC (s) | summary (s) | peak RSS MiB | "
            "load before/after sampling |\n" + "|---" * 20 + "|\n")
    lines = []
    for r in rows:
        synthetic = r["studies"] - r["studies"] // r["size"]
        sampled = fmt(r, "sampling_s") + ("" if r.get("sampling_finished") else " (cap)")
        lines.append(
            f"| {r['size']}x | {r['studies']} ({synthetic}) | {r['rows']} | {r['contrasts']} | {r['parameters']} | "
            f"{fmt(r, 'load_validate_s', 2)} | {fmt(r, 'pull_step_s', 2)} | {fmt(r, 'build_s', 2)} | "
            f"{fmt(r, 'compile_s')} | {fmt(r, 'grad_eval_ms', 3)} | {fmt(r, 'grad_eval_us_per_contrast', 2)} | "
            f"{sampled} | {r['iterations']} | {r['gradients']} | {fmt(r, 'sampling_ms_per_gradient_per_core', 3)} | "
            f"{fmt(r, 'min_ess_bulk', 0)} | {fmt(r, 'loglik_ppc_s', 2)} | {fmt(r, 'summary_s', 2)} | "
            f"{fmt(r, 'peak_rss_mib', 0)} | {r['load_before_sampling']} / {r['load_after_sampling']} |\n")
    return head + "".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,100")
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--sampling-cap", type=float, default=600.0)
    parser.add_argument("--out", default=str(HERE / "results_growth.md"))
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        Path(args.worker_out).write_text(json.dumps(work(args.worker, args)))
        return
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        print(f"== {size}x (load {load_avg()})", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.json"
            subprocess.run([sys.executable, __file__, "--worker", str(size), "--worker-out", str(out),
                            "--draws", str(args.draws), "--chains", str(args.chains),
                            "--sampling-cap", str(args.sampling_cap)], check=True)
            rows.append(json.loads(out.read_text()))
        print(json.dumps(rows[-1], indent=1), flush=True)
        Path(args.out).with_suffix(".json").write_text(json.dumps(rows, indent=1))
        text = (f"Measured {datetime.now():%Y-%m-%d %H:%M} on {platform.node()} ({os.cpu_count()} cores, shared CPU); "
                f"nutpie {args.chains} chains x ({args.draws} tune + {args.draws} draws), cap {args.sampling_cap:.0f} s.\n\n"
                + markdown(rows, args))
        Path(args.out).write_text(text)
    print(Path(args.out).read_text())


if __name__ == "__main__":
    main()
