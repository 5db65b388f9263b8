"""Posterior predictive bone-loss curves for config scenarios, their bands and derived quantities."""

import numpy as np
import pandas as pd
import xarray as xr

from mgbone.models.base import BoneModel, Scenario
from mgbone.reports.summaries import draws_summary

WEEKS_PER_YEAR = 365.25 / 7
BAND_QUANTILES = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)


def scenario_from_config(spec: dict, requirement_mg_day: float) -> tuple[Scenario, np.ndarray]:
    """A Scenario and its time grid (weeks) from one `scenarios` entry of the config."""
    if "mg_intake_mg_day" in spec:
        fraction = spec["mg_intake_mg_day"] / requirement_mg_day
    else:
        fraction = spec["mg_pct_requirement"] / 100.0
    estrogen = spec.get("estrogen", "intact")
    duration = spec["duration_years"] * WEEKS_PER_YEAR
    step = spec.get("step_weeks", 4.0 if duration > 3 * WEEKS_PER_YEAR else 1.0)
    times = np.arange(0.0, duration + step / 2, step)
    scenario = Scenario(
        name=spec["name"],
        species=spec["species"],
        mg_fraction=fraction,
        estrogen_deficit_start=1.0 if estrogen == "postmenopausal" else 0.0,
        estrogen_deficit_target=1.0 if estrogen in ("menopause", "postmenopausal", "ovariectomy") else 0.0,
        menopause_at_weeks=spec.get("menopause_after_years", 0.0) * WEEKS_PER_YEAR,
    )
    return scenario, times


def percent_of_baseline(log_deviation: np.ndarray) -> np.ndarray:
    return 100.0 * np.exp(log_deviation)


def bands(name: str, quantity: str, times: np.ndarray, values: np.ndarray, start_age=None) -> pd.DataFrame:
    q = np.quantile(values, BAND_QUANTILES, axis=0)
    frame = pd.DataFrame({"scenario": name, "quantity": quantity, "time_weeks": times,
                          "time_years": times / WEEKS_PER_YEAR, "mean": values.mean(axis=0)})
    if start_age is not None:
        frame["age"] = start_age + frame["time_years"]
    for p, row in zip(BAND_QUANTILES, q, strict=True):
        frame[f"q{p * 100:g}"] = row
    return frame


def scenario_predictions(model: BoneModel, posterior: xr.Dataset, specs: list[dict], requirement_mg_day: float,
                         seed: int) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Bands of every quantity (percent of the healthy steady state) and bone draws per scenario."""
    frames, bone, times_of = [], {}, {}
    for spec in specs:
        scenario, times = scenario_from_config(spec, requirement_mg_day)
        # the same seed for every scenario: contrasts compare like with like (common random numbers)
        paths = model.trajectories(posterior, scenario, times, np.random.default_rng(seed))
        for quantity, values in paths.items():
            frames.append(bands(scenario.name, quantity, times, percent_of_baseline(values), spec.get("start_age")))
        bone[scenario.name] = percent_of_baseline(paths["bone_mass"])
        times_of[scenario.name] = times
    return pd.concat(frames, ignore_index=True), bone, times_of


def _at(times: np.ndarray, years: float) -> int:
    return int(np.argmin(np.abs(times - years * WEEKS_PER_YEAR)))


def derived_quantities(bone: dict, times_of: dict, config: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Annual loss rates by period, scenario contrasts and probabilities of effects beyond thresholds."""
    draws, probabilities = {}, []
    for spec in config.get("loss_rates", []):
        b, t = bone[spec["scenario"]], times_of[spec["scenario"]]
        i, j = _at(t, spec["from_years"]), _at(t, spec["to_years"])
        rate = 100.0 * (np.log(b[:, j]) - np.log(b[:, i])) / ((t[j] - t[i]) / WEEKS_PER_YEAR)
        draws[f"loss_rate_pct_per_year[{spec['scenario']},{spec['from_years']:g}-{spec['to_years']:g}y]"] = rate
    for spec in config.get("contrasts", []):
        for years in spec["at_years"]:
            a = bone[spec["scenario"]][:, _at(times_of[spec["scenario"]], years)]
            r = bone[spec["reference"]][:, _at(times_of[spec["reference"]], years)]
            key = f"bmd_difference_pp[{spec['scenario']} - {spec['reference']},{years:g}y]"
            draws[key] = a - r
            for threshold in spec.get("thresholds_pp", []):
                probabilities.append({"quantity": key, "event": f"difference > {threshold:g} pp",
                                      "probability": float(np.mean(a - r > threshold))})
    return draws_summary(draws) if draws else pd.DataFrame(), pd.DataFrame(probabilities)


def claim_draws(bone: dict, times_of: dict, claim: dict, drug_years: float | None = None) -> dict[str, np.ndarray]:
    """Per-draw quantities behind the claim: Mg benefit and natural loss at the horizon (pp of baseline)."""
    supplemented, low = bone[claim["supplemented"]], bone[claim["low_intake"]]
    t = times_of[claim["low_intake"]]
    i = _at(t, claim["horizon_years"])
    out = {"mg_benefit_pp": supplemented[:, i] - low[:, i], "natural_loss_pp": 100.0 - low[:, i]}
    if drug_years is not None:
        j = _at(t, drug_years)
        out["mg_benefit_at_drug_horizon_pp"] = supplemented[:, j] - low[:, j]
    return out


def claim_check(bone: dict, times_of: dict, claim: dict, drug_effect: dict, rng: np.random.Generator) -> dict:
    """The 'magic bullet' claim against the posterior: Mg benefit vs natural loss and vs a drug."""
    draws = claim_draws(bone, times_of, claim, drug_effect["years"])
    benefit, natural_loss = draws["mg_benefit_pp"], draws["natural_loss_pp"]
    drug = rng.normal(drug_effect["difference_pp"], drug_effect["se_pp"], size=benefit.size)
    summary = draws_summary({**draws, "drug_benefit_pp": drug})
    out = {"horizon_years": claim["horizon_years"], "drug": drug_effect, "summary": summary.to_dict("records")}
    out["p_mg_benefit_ge_drug"] = float(np.mean(draws["mg_benefit_at_drug_horizon_pp"] >= drug))
    out["p_mg_halves_loss"] = float(np.mean(benefit >= 0.5 * natural_loss))
    out["p_mg_benefit_positive"] = float(np.mean(benefit > 0))
    return out


def contrast_predictive(tree: xr.DataTree, contrasts: pd.DataFrame) -> pd.DataFrame:
    """Observed contrasts with their posterior predictive intervals and coverage flags."""
    pp = tree["posterior_predictive"]["y"].stack(sample=("chain", "draw")).transpose("sample", ...).to_numpy()
    out = contrasts.copy()
    for lo, hi, label in ((0.25, 0.75, "50"), (0.05, 0.95, "90")):
        out[f"pi{label}_lower"] = np.quantile(pp, lo, axis=0)
        out[f"pi{label}_upper"] = np.quantile(pp, hi, axis=0)
        out[f"inside_{label}"] = (out["y"] >= out[f"pi{label}_lower"]) & (out["y"] <= out[f"pi{label}_upper"])
    out["predicted_median"] = np.median(pp, axis=0)
    if "prior_predictive" in tree.children:  # what the priors alone expected: the prior predictive check
        prior = tree["prior_predictive"]["y"].stack(sample=("chain", "draw")).transpose("sample", ...).to_numpy()
        out["prior_pi90_lower"] = np.quantile(prior, 0.05, axis=0)
        out["prior_pi90_upper"] = np.quantile(prior, 0.95, axis=0)
        out["inside_prior_90"] = (out["y"] >= out["prior_pi90_lower"]) & (out["y"] <= out["prior_pi90_upper"])
    if "log_likelihood" in tree.children:  # calibrated => LOO-PIT values look uniform on (0, 1)
        import arviz as az

        out["loo_pit"] = az.loo_pit(tree)["y"].to_numpy()
    return out


def coverage_table(predictive: pd.DataFrame) -> pd.DataFrame:
    """Share of observations inside the 50% and 90% predictive intervals, per study and overall."""
    rows = []
    for study, part in [*predictive.groupby("study_id"), ("overall", predictive)]:
        rows.append({"study_id": study, "n": len(part), "coverage_50": float(part["inside_50"].mean()),
                     "coverage_90": float(part["inside_90"].mean())})
    return pd.DataFrame(rows)
