"""Do analyses fitted to different study sets agree on the parameters they share?

For every parameter element present in both analyses of a pair (same name, same coordinate label), the two
posteriors are compared by their overlap coefficient (the area under the smaller of the two
densities: 1 identical, 0 disjoint) and by the standardised difference of their means. Each
posterior's contraction relative to its prior says whether the study set informs it at all: two
prior-dominated posteriors "agree" trivially, and the table says so.
"""

from itertools import combinations

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import gaussian_kde

from mgbone.analysis.draws import element_draws

# parameters of the observation layer, not of the biology: their agreement says nothing about the claim; and the
# standardised deviations of the hierarchies (N(0, 1) whatever the data), with the partially centred variables
# NUTS samples (`base.group_deviations`), whose scaled values are compared instead
# (study_deviation, drug_arm_potency in M1/M2, drug_arm_bone_gain in M0); and the study-quantity deviations of the
# measurement layer, each informed by one study (their spreads, study_outcome_spread, are compared)
SKIPPED = ("mu", "noise", "study_effect", "drug_arm_effect", "study_effect_sampled", "drug_arm_effect_sampled",
           "study_outcome_effect", "study_outcome_deviation", "single_row_response", "outcome_loading_sampled",
           "slope_in_outcome_units")


def parameter_elements(dataset: xr.Dataset) -> dict[str, np.ndarray]:
    """Flattened draws per scalar element, keyed `name` or `name[label,label]`."""
    kept = dataset[[name for name in dataset.data_vars if name not in SKIPPED]]
    if not kept.data_vars:
        return {}
    return {label: column.to_numpy() for label, column in element_draws(kept).items()}


def overlap_coefficient(a: np.ndarray, b: np.ndarray, grid_size: int = 512) -> float:
    """Integral of min(p_a, p_b) with Gaussian KDEs on the log scale for positive parameters."""
    if np.all(a > 0) and np.all(b > 0):
        a, b = np.log(a), np.log(b)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float(np.isclose(np.mean(a), np.mean(b)))
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    pad = 0.1 * (hi - lo)
    grid = np.linspace(lo - pad, hi + pad, grid_size)
    density_a, density_b = gaussian_kde(a)(grid), gaussian_kde(b)(grid)
    return float(np.clip(np.trapezoid(np.minimum(density_a, density_b), grid), 0.0, 1.0))


def contraction(posterior: np.ndarray, prior: np.ndarray | None) -> float:
    """1 - posterior variance / prior variance (on the log scale for positive parameters)."""
    if prior is None or prior.size < 2:
        return float("nan")
    if np.all(posterior > 0) and np.all(prior > 0):
        posterior, prior = np.log(posterior), np.log(prior)
    return float(1.0 - np.var(posterior) / np.var(prior))


def agreement_table(trees: dict[str, xr.DataTree], informed_min: float = 0.2) -> pd.DataFrame:
    """One row per shared parameter element and pair of analyses."""
    posteriors = {name: parameter_elements(tree["posterior"].dataset) for name, tree in trees.items()}
    priors = {name: parameter_elements(tree["prior"].dataset) if "prior" in tree.children else {}
              for name, tree in trees.items()}
    rows = []
    # each pair on what it shares (M1 and M2 share the bone-cell rates, which M0 does not have)
    for first, second in combinations(sorted(trees), 2):
        for element in sorted(set(posteriors[first]) & set(posteriors[second])):
            a, b = posteriors[first][element], posteriors[second][element]
            if np.ptp(a) == 0 and np.ptp(b) == 0:  # fixed by construction (e.g. the human speed factor 1)
                continue
            c_a = contraction(a, priors[first].get(element))
            c_b = contraction(b, priors[second].get(element))
            both_informed = bool(c_a >= informed_min and c_b >= informed_min)
            overlap = overlap_coefficient(a, b)
            rows.append({
                "parameter": element, "analysis_a": first, "analysis_b": second,
                "mean_a": float(np.mean(a)), "mean_b": float(np.mean(b)),
                "sd_a": float(np.std(a)), "sd_b": float(np.std(b)),
                "overlap": overlap,
                "standardised_difference": float((np.mean(a) - np.mean(b)) / np.hypot(np.std(a), np.std(b))),
                "contraction_a": c_a, "contraction_b": c_b,
                "both_informed": both_informed,
                "verdict": verdict(overlap, both_informed),
            })
    table = pd.DataFrame(rows, columns=["parameter", "analysis_a", "analysis_b", "mean_a", "mean_b", "sd_a", "sd_b",
                                        "overlap", "standardised_difference", "contraction_a", "contraction_b",
                                        "both_informed", "verdict"])
    return table.sort_values(["parameter", "analysis_a", "analysis_b"], kind="stable", ignore_index=True)


def verdict(overlap: float, both_informed: bool) -> str:
    if not both_informed:
        return "prior-dominated"
    if overlap >= 0.5:
        return "agree"
    if overlap >= 0.2:
        return "partly agree"
    return "disagree"
