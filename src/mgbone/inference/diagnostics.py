"""Convergence and predictive diagnostics of a fit, and the gate that decides if it can be trusted.

Thresholds follow Vehtari et al. 2021 (R-hat <= 1.01, bulk and tail ESS >= 100 per chain),
Betancourt 2016 (E-BFMI > 0.3) and Vehtari et al. 2024 (Pareto k <= min(1 - 1/log10(S), 0.7)).
"""

import math
from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from mgbone.constants import LOO_VARIABLE


@dataclass(frozen=True)
class Gate:
    rhat_max: float = 1.01
    ess_min: float = 400.0
    ebfmi_min: float = 0.3
    max_divergences: int = 0


def parameter_names(tree: xr.DataTree, exclude=("mu",)) -> list[str]:
    """Parameters and deterministics worth summarising: not the per-contrast means, not the raw
    non-centred z variables, not constants (e.g. the human speed factor fixed at 1)."""
    posterior = tree["posterior"].dataset
    names = []
    for v in posterior.data_vars:
        if v in exclude or v.endswith("_z"):
            continue
        arr = posterior[v]
        if float(arr.max() - arr.min()) == 0.0:
            continue
        names.append(v)
    return names


def _flatten(ds: xr.Dataset, names) -> dict[str, float]:
    out = {}
    for name in names:
        arr = ds[name]
        if arr.ndim == 0:
            out[name] = float(arr)
            continue
        for label, value in zip(labels(arr), np.ravel(arr.to_numpy()), strict=True):
            out[f"{name}[{label}]"] = float(value)
    return out


def labels(arr: xr.DataArray) -> list[str]:
    """'coord1,coord2' labels of every element of a (non-scalar) array, in C order."""
    grids = np.meshgrid(*[arr[d].to_numpy() for d in arr.dims], indexing="ij")
    return [",".join(str(g.flat[i]) for g in grids) for i in range(grids[0].size)]


def parameter_diagnostics(tree: xr.DataTree) -> pd.DataFrame:
    """R-hat and ESS per scalar; entries of a vector parameter that never vary (fixed by construction,
    like the human speed factor) are dropped rather than reported as NaN."""
    names = parameter_names(tree)
    rhat = _flatten(az.rhat(tree, var_names=names).dataset, names)
    bulk = _flatten(az.ess(tree, var_names=names, method="bulk").dataset, names)
    tail = _flatten(az.ess(tree, var_names=names, method="tail").dataset, names)
    table = pd.DataFrame(
        {"parameter": list(rhat), "r_hat": list(rhat.values()), "ess_bulk": [bulk[k] for k in rhat],
         "ess_tail": [tail[k] for k in rhat]}
    )
    return table[table["r_hat"].notna()].reset_index(drop=True)


def divergence_locations(tree: xr.DataTree, top: int = 2) -> list[tuple[str, float]]:
    """Where divergent transitions sit: the parameters whose divergent draws are furthest from the
    rest, in posterior standard deviations (log scale for positive parameters). A funnel shows as a
    scale parameter far below its typical value."""
    diverging = tree["sample_stats"]["diverging"].to_numpy().astype(bool).ravel()
    if not diverging.any() or diverging.all():
        return []
    posterior = tree["posterior"].dataset
    shifts = []
    for name in parameter_names(tree):
        arr = posterior[name]
        values = arr.to_numpy().reshape(diverging.size, -1)
        element_labels = labels(arr.isel(chain=0, draw=0)) if arr.ndim > 2 else [""]
        for j, label in enumerate(element_labels):
            x = values[:, j]
            x = np.log(x) if np.all(x > 0) else x
            sd = x.std()
            if sd > 0:
                shifts.append((f"{name}[{label}]" if label else name, float((x[diverging].mean() - x.mean()) / sd)))
    return sorted(shifts, key=lambda item: -abs(item[1]))[:top]


def pareto_k_threshold(n_samples: int) -> float:
    return min(1 - 1 / math.log10(n_samples), 0.7)


def diagnose(tree: xr.DataTree, gate: Gate, sampling_seconds: float | None = None) -> dict:
    """Everything the gate looks at, plus ESS per second; `checks` lists each pass/fail with its reason."""
    table = parameter_diagnostics(tree)
    stats = tree["sample_stats"]
    divergences = int(stats["diverging"].sum()) if "diverging" in stats else 0
    ebfmi = az.bfmi(tree).dataset["energy"].to_numpy().tolist() if "energy" in stats else []
    n_samples = int(tree["posterior"].sizes["chain"] * tree["posterior"].sizes["draw"])
    loo = az.loo(tree, var_name=LOO_VARIABLE)
    k = np.asarray(loo.pareto_k).ravel()
    k_good = pareto_k_threshold(n_samples)
    checks = []

    def check(name, ok, detail, gating=True):
        checks.append({"check": name, "passed": bool(ok), "detail": detail, "gating": gating})

    worst_rhat = table.loc[table["r_hat"].idxmax()]
    check("r_hat", worst_rhat["r_hat"] <= gate.rhat_max,
          f"max R-hat {worst_rhat['r_hat']:.4f} ({worst_rhat['parameter']}); limit {gate.rhat_max}")
    for kind in ("ess_bulk", "ess_tail"):
        worst = table.loc[table[kind].idxmin()]
        check(kind, worst[kind] >= gate.ess_min, f"min {kind} {worst[kind]:.0f} ({worst['parameter']}); limit {gate.ess_min:.0f}")
    where = divergence_locations(tree) if divergences else []
    check("divergences", divergences <= gate.max_divergences, f"{divergences} divergent transitions" + (
        " (where: " + ", ".join(f"{name} {shift:+.1f} sd" for name, shift in where) + " from its posterior mean)"
        if where else ""))
    if ebfmi:
        check("e_bfmi", min(ebfmi) > gate.ebfmi_min, f"min E-BFMI {min(ebfmi):.3f}; limit {gate.ebfmi_min}")
    n_bad = int((k > k_good).sum())
    # Pareto k judges PSIS-LOO (comparisons), not the sampler: with one contrast per study and outcome most
    # observations are influential, so it is reported loudly but does not fail the computation gate
    check("pareto_k", n_bad == 0, f"{n_bad} of {k.size} observations with Pareto k > {k_good:.2f} (max {k.max():.2f}); "
          "PSIS-LOO unreliable for them", gating=False)
    min_ess = float(table["ess_bulk"].min())
    return {
        "passed": all(c["passed"] for c in checks if c["gating"]),
        "checks": checks,
        "divergences": divergences,
        "e_bfmi": ebfmi,
        "n_samples": n_samples,
        "max_r_hat": float(table["r_hat"].max()),
        "min_ess_bulk": min_ess,
        "min_ess_tail": float(table["ess_tail"].min()),
        "ess_bulk_per_second": min_ess / sampling_seconds if sampling_seconds else None,
        "loo": {"elpd": float(loo.elpd), "se": float(loo.se), "p_loo": float(loo.p), "pareto_k_threshold": k_good,
                "pareto_k_max": float(k.max()), "n_pareto_k_bad": n_bad},
        "pareto_k": k.tolist(),
    }


def failure_message(result: dict, analysis: str) -> str:
    failed = [f"{c['check']}: {c['detail']}" for c in result["checks"] if not c["passed"] and c["gating"]]
    return f"analysis '{analysis}' failed the diagnostics gate: " + "; ".join(failed)
