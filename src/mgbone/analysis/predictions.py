"""Posterior predictive bone-loss curves for config scenarios, their bands and derived quantities."""

import numpy as np
import pandas as pd
import xarray as xr

from mgbone.analysis.draws import draw_matrix
from mgbone.analysis.summaries import draws_summary
from mgbone.constants import BAND_QUANTILES, LOO_VARIABLE, WEEKS_PER_YEAR
from mgbone.models.base import BoneModel, Scenario


def scenario_from_config(spec: dict, requirement_mg_day: float,
                         agent_classes: dict[str, str] | None = None) -> tuple[Scenario, np.ndarray]:
    """A Scenario and its time grid (weeks) from one `scenarios` entry of the config (`agent_classes`: the
    vocabulary's class of each intervention agent, for scenarios with a `treatment`)."""
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
        **treatment_of(spec.get("treatment"), agent_classes or {}),
    )
    return scenario, times


def treatment_of(spec: dict | None, agent_classes: dict[str, str]) -> dict:
    """Scenario fields of a config `treatment`: the agent's class and the arm name the fit uses ('agent dose')."""
    if not spec:
        return {}
    if spec["agent"] not in agent_classes:
        raise ValueError(f"scenario treatment: unknown agent {spec['agent']!r} (vocabulary.yaml interventions)")
    arm = f"{spec['agent']} {spec['dose']}" if spec.get("dose") else spec["agent"]
    return {"treatment_class": agent_classes[spec["agent"]], "treatment_arm": arm,
            "treatment_start_weeks": spec.get("start_years", 0.0) * WEEKS_PER_YEAR,
            "treatment_stop_weeks": spec.get("stop_years", float("inf")) * WEEKS_PER_YEAR}


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


def scenario_draws(model: BoneModel, posterior: xr.Dataset, specs: list[dict], requirement_mg_day: float,
                   seed: int, agent_classes: dict[str, str] | None = None, overrides: dict | None = None) -> xr.DataTree:
    """Every quantity's log-deviation draws per scenario, one node per scenario (dims sample x time_weeks).

    Computed once per analysis (rule predict writes it); the bands, the claim, the cell-level comparison and the
    sensitivity of the conclusions are all read from it. `overrides` fixes parameters in every draw (e.g. a
    route's gain at 0: the route switched off)."""
    nodes = {}
    for spec in specs:
        scenario, times = scenario_from_config(spec, requirement_mg_day, agent_classes)
        # the same seed for every scenario: contrasts compare like with like (common random numbers)
        paths = model.trajectories(posterior, scenario, times, np.random.default_rng(seed), overrides=overrides)
        node = xr.Dataset({quantity: (("sample", "time_weeks"), np.asarray(values)) for quantity, values in paths.items()},
                          coords={"time_weeks": times})
        if spec.get("start_age") is not None:
            node.attrs["start_age"] = float(spec["start_age"])
        nodes[scenario.name] = node
    tree = xr.DataTree.from_dict(nodes)
    tree.attrs["scenarios"] = list(nodes)  # netCDF does not keep the order of groups
    return tree


def scenario_paths(draws: xr.DataTree) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """Log-deviation draws {scenario: {quantity: (sample, time)}} and each scenario's time grid (weeks)."""
    paths, times_of = {}, {}
    for name in draws.attrs["scenarios"]:
        node = draws[name].dataset
        paths[name] = {quantity: node[quantity].to_numpy() for quantity in node.data_vars}
        times_of[name] = node["time_weeks"].to_numpy()
    return paths, times_of


def bone_percent(paths: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Bone mass draws per scenario as percent of the healthy steady state."""
    return {name: percent_of_baseline(quantities["bone_mass"]) for name, quantities in paths.items()}


def scenario_bands(draws: xr.DataTree) -> pd.DataFrame:
    """Bands of every quantity (percent of the healthy steady state) per scenario."""
    paths, times_of = scenario_paths(draws)
    return pd.concat([bands(name, quantity, times_of[name], percent_of_baseline(values),
                            draws[name].attrs.get("start_age"))
                      for name, quantities in paths.items() for quantity, values in quantities.items()],
                     ignore_index=True)


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


def interval(values: np.ndarray) -> dict:
    q = np.quantile(values, [0.025, 0.05, 0.5, 0.95, 0.975])
    return {"median": float(q[2]), "eti90": [float(q[1]), float(q[3])], "eti95": [float(q[0]), float(q[4])]}


def claim_check(bone: dict, times_of: dict, claim: dict, drug_effect: dict, rng: np.random.Generator) -> dict:
    """The 'magic bullet' claim against the posterior: Mg benefit vs natural loss and vs a drug.

    With `claim.drug.scenario` the comparator is the model's own prediction for that treatment in the same
    population, site and time (drug.predicted); the trial's printed difference (drug.printed) checks the model."""
    draws = claim_draws(bone, times_of, claim, drug_effect["years"])
    benefit, natural_loss = draws["mg_benefit_pp"], draws["natural_loss_pp"]
    printed = rng.normal(drug_effect["difference_pp"], drug_effect["se_pp"], size=benefit.size)
    scenario = claim.get("drug", {}).get("scenario")
    if scenario in bone:
        j = _at(times_of[scenario], drug_effect["years"])
        predicted = bone[scenario][:, j] - bone[claim["low_intake"]][:, j]
        comparator, extra = predicted, {"drug_predicted_benefit_pp": predicted}
        half_width = 1.959963984540054 * drug_effect["se_pp"]
        summary_of = interval(predicted)
        drug = {"printed": drug_effect, "comparator": "predicted",
                "predicted": {**summary_of, "scenario": scenario, "years": drug_effect["years"],
                              "checked_against": drug_effect["source"],
                              # the check of the model: does the trial's printed value fall inside the prediction?
                              "printed_inside_predicted_eti95": bool(
                                  summary_of["eti95"][0] <= drug_effect["difference_pp"] <= summary_of["eti95"][1]),
                              "predicted_median_inside_printed_ci95": bool(
                                  abs(summary_of["median"] - drug_effect["difference_pp"]) <= half_width)}}
    else:
        comparator, extra = printed, {}
        drug = {"printed": drug_effect, "comparator": "printed"}
    summary = draws_summary({**draws, "drug_printed_benefit_pp": printed, **extra})
    out = {"horizon_years": claim["horizon_years"], "drug": drug, "summary": summary.to_dict("records")}
    out["p_mg_benefit_ge_drug"] = float(np.mean(draws["mg_benefit_at_drug_horizon_pp"] >= comparator))
    out["p_mg_halves_loss"] = float(np.mean(benefit >= 0.5 * natural_loss))
    out["p_mg_benefit_positive"] = float(np.mean(benefit > 0))
    return out


CELL_QUANTITIES = ("osteoclast_activity", "osteoblast_activity")


def cell_effects(paths: dict, times_of: dict, claim: dict, treatments: dict[str, str], years: float) -> list[dict]:
    """The seed's cell-level statement: percent change of osteoclast and osteoblast activity that Mg repletion
    (supplemented vs low intake) and each treatment scenario (vs low intake) cause at `years`."""
    low = paths.get(claim["low_intake"], {})
    rows = []
    contenders = {"magnesium repletion": claim["supplemented"], **treatments}
    for label, scenario in contenders.items():
        if scenario not in paths:
            continue
        k = _at(times_of[scenario], years)
        for quantity in CELL_QUANTITIES:
            if quantity not in low or quantity not in paths[scenario]:
                continue
            change = 100.0 * (np.exp(paths[scenario][quantity][:, k] - low[quantity][:, k]) - 1.0)
            rows.append({"intervention": label, "scenario": scenario, "quantity": quantity, "years": years,
                         **{k2: v for k2, v in interval(change).items() if k2 == "median"},
                         "eti90_lower": float(np.quantile(change, 0.05)), "eti90_upper": float(np.quantile(change, 0.95))})
    return rows


def contrast_predictive(tree: xr.DataTree, contrasts: pd.DataFrame) -> pd.DataFrame:
    """Observed contrasts with their posterior predictive intervals and coverage flags."""
    pp = draw_matrix(tree, "y", group="posterior_predictive")
    out = contrasts.copy()
    for lo, hi, label in ((0.25, 0.75, "50"), (0.05, 0.95, "90")):
        out[f"pi{label}_lower"] = np.quantile(pp, lo, axis=0)
        out[f"pi{label}_upper"] = np.quantile(pp, hi, axis=0)
        out[f"inside_{label}"] = (out["y"] >= out[f"pi{label}_lower"]) & (out["y"] <= out[f"pi{label}_upper"])
    out["predicted_median"] = np.median(pp, axis=0)
    if "prior_predictive" in tree.children:  # what the priors alone expected: the prior predictive check
        prior = draw_matrix(tree, "y", group="prior_predictive")
        out["prior_pi90_lower"] = np.quantile(prior, 0.05, axis=0)
        out["prior_pi90_upper"] = np.quantile(prior, 0.95, axis=0)
        out["inside_prior_90"] = (out["y"] >= out["prior_pi90_lower"]) & (out["y"] <= out["prior_pi90_upper"])
    if "log_likelihood" in tree.children:  # calibrated => LOO-PIT values look uniform on (0, 1)
        import arviz as az

        out["loo_pit"] = az.loo_pit(tree, var_names=[LOO_VARIABLE])[LOO_VARIABLE].to_numpy()
    return out


def coverage_table(predictive: pd.DataFrame) -> pd.DataFrame:
    """Share of observations inside the 50% and 90% predictive intervals, per study and overall."""
    rows = []
    for study, part in [*predictive.groupby("study_id"), ("overall", predictive)]:
        rows.append({"study_id": study, "n": len(part), "coverage_50": float(part["inside_50"].mean()),
                     "coverage_90": float(part["inside_90"].mean())})
    return pd.DataFrame(rows)


def route_attribution(model: BoneModel, posterior: xr.Dataset, specs: list[dict], claim: dict,
                      requirement_mg_day: float, seed: int, agent_classes: dict | None = None) -> pd.DataFrame:
    """Share of the Mg benefit (supplemented vs low intake at the claim's horizon) that flows through each route,
    by switching the route off in every posterior draw.

    Contributions are on the log scale of bone mass (x 100: close to percentage points for changes of a few
    percent), where the models are exactly additive: each route is a parallel path from Mg status to bone, linear
    in its gain, so the contributions add up to the benefit draw by draw (the 'all routes' row checks it)."""
    chosen = [s for s in specs if s["name"] in (claim["low_intake"], claim["supplemented"])]

    def benefit(overrides=None):
        paths, times = scenario_paths(scenario_draws(model, posterior, chosen, requirement_mg_day, seed, agent_classes,
                                                     overrides=overrides))
        bone = bone_percent(paths)
        k = _at(times[claim["low_intake"]], claim["horizon_years"])
        return 100.0 * (np.log(bone[claim["supplemented"]][:, k]) - np.log(bone[claim["low_intake"]][:, k]))

    full = benefit()
    rows, total = [], np.zeros_like(full)
    for route, parameters in model.routes.items():
        contribution = full - benefit(dict.fromkeys(parameters, 0.0))
        total = total + contribution
        share = contribution / np.where(np.abs(full) > 1e-12, full, np.nan)
        rows.append({"route": route, "switched_off": ", ".join(parameters), **_band(contribution, "contribution_logpct"),
                     "share_median": float(np.nanmedian(share)), "p_route_protects": float(np.mean(contribution > 0))})
    if rows:
        rows.append({"route": "all routes (check: equals the benefit)", "switched_off": "",
                     **_band(total, "contribution_logpct"), "share_median": float(np.nanmedian(total / full)),
                     "p_route_protects": float(np.mean(total > 0))})
        rows.append({"route": "Mg benefit", "switched_off": "", **_band(full, "contribution_logpct"),
                     "share_median": 1.0, "p_route_protects": float(np.mean(full > 0))})
    return pd.DataFrame(rows)


def _band(values: np.ndarray, name: str) -> dict:
    q = np.quantile(values, [0.05, 0.5, 0.95])
    return {f"{name}_median": float(q[1]), f"{name}_eti90_lower": float(q[0]), f"{name}_eti90_upper": float(q[2])}
