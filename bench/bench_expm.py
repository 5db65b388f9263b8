"""Benchmark: cost of one M1 log density + gradient (default data) for each matrix-exponential variant.

Usage: python bench/bench_expm.py [--variants taylor_switch,pytensor] [--seconds 3] [--threads 1,2]
                                  [--fastmath both|on|off] [--out bench/results_expm.json]

Each (variant, fastmath) pair runs in its own process (so PyTensor's fastmath flag is the one the code
was compiled with). In the worker: M1 is built on the default data with `mechanistic.expm` replaced by
the variant, compiled by nutpie (numba backend, the pipeline's sampler), and nutpie's compiled C
function (the one its sampler calls) is timed through ctypes at 32 jittered points around PyMC's
initial point, from one thread and from two threads at once (ctypes releases the GIL, so two threads
are what two nutpie chains on two cores do). The log density and gradient of each variant are compared
with the `taylor_switch` reference at the same points.
"""

import argparse
import ctypes
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

VARIANTS = ("taylor_switch", "pytensor", "project", "floor")


def taylor_switch(a):
    """The hand-written exponential as it was before issue 17: Taylor 12, 24 squarings always run."""
    import pytensor.tensor as pt

    a = pt.as_tensor_variable(a)
    norm = pt.max(pt.sum(pt.abs(a), axis=-1), axis=-1)
    squarings = pt.clip(pt.ceil(pt.log2(pt.maximum(norm, 0.5) / 0.5)), 0, 24)
    scaled = a / pt.exp2(squarings)[..., None, None]
    eye = pt.eye(a.shape[-1], dtype=a.dtype)
    term = pt.broadcast_to(eye, a.shape)
    result = term
    for order in range(1, 13):
        term = pt.matmul(term, scaled) / order
        result = result + term
    for step in range(24):
        result = pt.switch((step < squarings)[..., None, None], pt.matmul(result, result), result)
    return result


def variant_fn(name):
    if name == "taylor_switch":
        return taylor_switch
    if name == "pytensor":
        from pytensor.tensor.linalg import expm

        return expm
    if name == "floor":  # NOT an exponential: I + A, to measure what the rest of the graph costs
        import pytensor.tensor as pt

        return lambda a: a + pt.eye(a.shape[-1], dtype=a.dtype)
    if name == "project":  # whatever linear_ode.expm is now
        from mgbone.models.linear_ode import expm

        return expm
    raise ValueError(name)


def load_avg() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def build(name):
    import mgbone.models.mechanistic as mech
    from mgbone.models import get_model

    from bench_backends import design

    mech.expm = variant_fn(name)
    m = get_model("M1")
    return m.build(m.fits(design()))


def jittered_points(model, n_points: int = 32, seed: int = 0) -> list[dict]:
    """PyMC's initial point (unconstrained) jittered by U(-1, 1), as nutpie and the Stan runs start."""
    import numpy as np

    rng = np.random.default_rng(seed)
    start = model.initial_point()
    return [{k: np.asarray(v, float) + rng.uniform(-1, 1, size=np.shape(v)) for k, v in start.items()}
            for _ in range(n_points)]


def nutpie_points(model, compiled, n_points: int = 32, seed: int = 0) -> list:
    """`jittered_points` as nutpie's flat unconstrained vectors (free variables in model order)."""
    import numpy as np

    xs = [np.concatenate([np.ravel(p[model.rvs_to_values[rv].name]) for rv in model.free_RVs])
          for p in jittered_points(model, n_points, seed)]
    assert xs[0].size == compiled.n_dim
    return xs


def nutpie_caller(compiled):
    """call(x, out, logp) -> return code: nutpie's compiled C log density + gradient, as its sampler calls it
    (through ctypes, which releases the GIL during the call)."""
    n = compiled.n_dim
    cfunc = compiled.compiled_logp_func.ctypes
    user_ptr = compiled.user_data.ctypes.data_as(ctypes.c_void_p)
    dptr = ctypes.POINTER(ctypes.c_double)
    ptrs = {}

    def call(x, out, lp):
        key = (id(x), id(out))
        if key not in ptrs:
            ptrs[key] = (x.ctypes.data_as(dptr), out.ctypes.data_as(dptr), lp.ctypes.data_as(dptr))
        return cfunc(n, *ptrs[key], user_ptr)

    return call


def time_calls(call, xs, seconds: float, threads: list[int]) -> dict:
    """Microseconds per call, looping over `xs` for `seconds`, from 1 thread and from k threads at once."""
    import numpy as np

    def loop(results, k):
        out, lp = np.empty(xs[0].size), np.empty(())
        for x in xs[:4]:
            call(x, out, lp)  # warm
        calls, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for x in xs:
                call(x, out, lp)
            calls += len(xs)
        results[k] = (time.perf_counter() - t0) / calls

    timing = {}
    for t in threads:
        results = [0.0] * t
        load_before = load_avg()
        workers = [threading.Thread(target=loop, args=(results, k)) for k in range(t)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        timing[str(t)] = {"us_per_call": 1e6 * float(np.mean(results)), "load_before": load_before,
                          "load_after": load_avg()}
    return timing


def worker(name: str, fastmath: bool, seconds: float, threads: list[int]) -> dict:
    import numpy as np
    import nutpie
    import pytensor

    import mgbone.models  # noqa: F401  (sets numba__fastmath = False)

    pytensor.config.numba__fastmath = fastmath
    model = build(name)
    start = time.perf_counter()
    compiled = nutpie.compile_pymc_model(model, backend="numba")
    compile_s = time.perf_counter() - start
    xs = nutpie_points(model, compiled)
    call = nutpie_caller(compiled)
    values = []
    for x in xs:
        out, lp = np.empty(x.size), np.empty(())
        rc = call(x, out, lp)
        values.append((float(lp), out.tolist(), int(rc)))
    timing = time_calls(call, xs, seconds, threads)
    n = compiled.n_dim
    return {"variant": name, "fastmath": fastmath, "compile_s": compile_s, "n_dim": int(n), "timing": timing,
            "values": values, "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset")}


def paired_worker(configs: list[tuple[str, bool]], seconds: float, rounds: int, threads: list[int]) -> list[dict]:
    """All configurations compiled in one process, then timed in alternation (round after round), so that a
    changing machine load hits them alike; reports the median over rounds."""
    import numpy as np
    import nutpie
    import pytensor

    import mgbone.models  # noqa: F401

    compiled = []
    for name, fastmath in configs:
        pytensor.config.numba__fastmath = fastmath
        model = build(name)
        start = time.perf_counter()
        c = nutpie.compile_pymc_model(model, backend="numba")
        compiled.append((name, fastmath, time.perf_counter() - start, nutpie_caller(c), nutpie_points(model, c)))
    per = {k: {str(t): [] for t in threads} for k in range(len(configs))}
    loads = []
    for _ in range(rounds):
        loads.append(load_avg())
        for k, (_, _, _, call, xs) in enumerate(compiled):
            for t, v in time_calls(call, xs, seconds, threads).items():
                per[k][t].append(v["us_per_call"])
    return [{"variant": name, "fastmath": fm, "compile_s": cs, "rounds": rounds, "loads": loads,
             "median_us": {t: float(np.median(v)) for t, v in per[k].items()}, "all_us": per[k]}
            for k, (name, fm, cs, _, _) in enumerate(compiled)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--fastmath", default="off", choices=["on", "off", "both"])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--out", default=str(HERE / "results_expm.json"))
    parser.add_argument("--paired", type=int, default=0, metavar="ROUNDS",
                        help="compile every (variant, fastmath) in one process and time them alternately")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-fastmath", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    if args.worker:
        r = worker(args.worker, args.worker_fastmath == "1", args.seconds, threads)
        Path(args.worker_out).write_text(json.dumps(r))
        return
    import numpy as np

    flags = {"on": [True], "off": [False], "both": [False, True]}[args.fastmath]
    if args.paired:
        configs = [(name, fm) for fm in flags for name in args.variants.split(",")]
        rows = paired_worker(configs, args.seconds, args.paired, threads)
        for r in rows:
            print(f"{r['variant']:16s} fastmath={'on ' if r['fastmath'] else 'off'} median over {r['rounds']} rounds: " +
                  "  ".join(f"{t} thread(s) {v:.0f} us" for t, v in r["median_us"].items()), flush=True)
        Path(args.out).write_text(json.dumps({"measured": time.strftime("%Y-%m-%d %H:%M"), "mode": "paired",
                                              "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
                                              "rows": rows}, indent=1))
        return
    rows = []
    for fm in flags:
        for name in args.variants.split(","):
            out = Path(f"/tmp/bench_expm_{os.getpid()}_{name}_{int(fm)}.json")
            subprocess.run([sys.executable, __file__, "--worker", name, "--worker-fastmath", str(int(fm)),
                            "--worker-out", str(out), "--seconds", str(args.seconds), "--threads", args.threads],
                           check=True)
            rows.append(json.loads(out.read_text()))
            out.unlink()
            r = rows[-1]
            print(f"{name:16s} fastmath={'on ' if fm else 'off'} compile {r['compile_s']:.1f}s  " +
                  "  ".join(f"{t} thread(s): {v['us_per_call']:.0f} us (load {v['load_before']})"
                            for t, v in r["timing"].items()), flush=True)
    ref = rows[0]["values"]
    for r in rows:
        lp_diff = max(abs(a[0] - b[0]) / max(1.0, abs(b[0])) for a, b in zip(r["values"], ref, strict=True))
        g_diff = max(float(np.max(np.abs(np.subtract(a[1], b[1])) / np.maximum(1.0, np.abs(b[1]))))
                     for a, b in zip(r["values"], ref, strict=True))
        r["vs_first"] = {"logp_max_rel_diff": lp_diff, "grad_max_rel_diff": g_diff,
                         "failed_calls": sum(v[2] != 0 for v in r["values"])}
        print(f"{r['variant']:16s} fastmath={r['fastmath']}: logp rel diff {lp_diff:.1e}, grad rel diff {g_diff:.1e}, "
              f"nonzero return codes {r['vs_first']['failed_calls']}")
        del r["values"]
    Path(args.out).write_text(json.dumps({"measured": time.strftime("%Y-%m-%d %H:%M"), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
