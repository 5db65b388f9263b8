"""The pipeline's steps as plain functions (pull, fit, diagnose, predict, summarize); the workflow
scripts and the command line call these, and tests call them directly."""

import json
import logging
import platform
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from mgbone.analysis.evidence import fitted_studies, reasons_not_fitted
from mgbone.analysis.predictions import (
    bone_percent,
    cell_effects,
    claim_check,
    contrast_predictive,
    coverage_table,
    derived_quantities,
    route_attribution,
    scenario_bands,
    scenario_draws,
    scenario_paths,
)
from mgbone.analysis.study_curves import observed_points, predicted_curves
from mgbone.analysis.summaries import parameter_summary
from mgbone.config import HOLDOUTS
from mgbone.constants import WEEKS_PER_YEAR
from mgbone.data import load_registry, load_selection, load_vocabulary
from mgbone.data.registry import sha256_of
from mgbone.inference.backends import SamplerSettings, fit as run_sampler
from mgbone.inference.diagnostics import Gate, diagnose as run_diagnostics, failure_message, parameter_names
from mgbone.inference.seeds import stable_seed
from mgbone.io import write_csv, write_json, write_netcdf
from mgbone.models import get_model
from mgbone.models.observations import build_observations
from mgbone.reports import figures

log = logging.getLogger(__name__)
PACKAGES = ("mgbone", "pymc", "pytensor", "arviz", "numpy", "pandas", "pandera", "snakemake", "nutpie", "numpyro", "jax")


class DiagnosticsGateError(RuntimeError):
    """A fit failed the diagnostics gate and the config asks for a strict stop."""


def versions() -> dict:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def selected_studies(config: dict, analysis: str) -> list[str]:
    spec = config["analyses"][analysis]
    studies, species = spec["studies"], spec.get("species")
    if studies == "all" or species:
        registry = load_registry(Path(config["data_dir"]) / "studies.yaml")
        chosen = sorted(registry) if studies == "all" else list(studies)
        return [s for s in chosen if not species or s not in registry or registry[s]["species"] in species]
    return list(studies)


def sampler_settings(config: dict, analysis: str) -> SamplerSettings:
    merged = {**config.get("sampler_defaults", {}), **config["analyses"][analysis].get("sampler", {})}
    return SamplerSettings.from_config(merged)


def read_dataset(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=True)


def observations(config: dict, dataset: pd.DataFrame, reference_groups: pd.DataFrame | None = None):
    return build_observations(dataset, cohort_exposure_years=config["observation"]["cohort_exposure_years"],
                              reference_groups=reference_groups)


# -- pull ------------------------------------------------------------------------------------------
def manifest(config: dict, label: str, dataset: pd.DataFrame, provenance: dict, obs) -> dict:
    """Provenance of a harmonised dataset: files and checksums, rows, conversions applied, versions."""
    conversions = (dataset[dataset["conversion_factor"] != 1.0][["outcome", "unit", "unit_canonical", "conversion_factor"]]
                   .drop_duplicates().sort_values(["outcome", "unit"]).to_dict("records"))
    return {
        "analysis": label,
        "files": provenance["files"],
        "vocabulary_sha256": sha256_of(Path(config["data_dir"]) / "vocabulary.yaml"),
        "rows": len(dataset),
        "rows_per_study_outcome": dataset.groupby(["study_id", "outcome"]).size().rename("rows").reset_index().to_dict("records"),
        "conversions": conversions,
        "spread_conversions": dataset["dispersion_type"].fillna("none").value_counts().sort_index().to_dict(),
        "fitted_contrasts": obs.n,
        "unfitted_rows": obs.unfitted.groupby("outcome").size().to_dict(),
        "versions": versions(),
    }


def remote_url(config: dict, relative_file: str) -> str | None:
    """Where a study table is fetched from when `remote_data` is enabled (None: the local data/)."""
    remote = config.get("remote_data", {})
    if not remote.get("enabled"):
        return None
    return remote["base_url"].rstrip("/") + "/" + relative_file


def pull(config: dict, analysis: str, *, dataset_csv, groups_csv, manifest_json, overview_png,
         tables: list | None = None) -> None:
    """`tables`: local paths of the selected study tables in selection order (fetched copies when remote)."""
    studies = selected_studies(config, analysis)
    log.info("pulling %d studies for analysis %s: %s", len(studies), analysis, ", ".join(studies))
    sources = None
    if tables is not None:
        registry = load_registry(Path(config["data_dir"]) / "studies.yaml")
        sources = {}
        for study, path in zip(studies, tables, strict=True):
            origin = remote_url(config, registry[study]["file"]) or str(path)
            sources[study] = (Path(path), origin)
            if origin != str(path):
                log.info("%s: fetched from %s, checked against the registry's sha256", study, origin)
    dataset, provenance = load_selection(config["data_dir"], studies, sources)
    obs = observations(config, dataset, provenance["reference_groups"])
    write_csv(dataset_csv, dataset, float_format="%.10g")
    write_csv(groups_csv, provenance["reference_groups"], float_format="%.10g")
    write_json(manifest_json, manifest(config, analysis, dataset, provenance, obs))
    figures.data_overview(dataset, overview_png)
    log.info("dataset: %d rows, %d fittable contrasts", len(dataset), obs.n)


def catalog(config: dict, *, dataset_csv, manifest_json, overview_png) -> None:
    """Every registered study, validated and harmonised: the data section of the report."""
    studies = sorted(load_registry(Path(config["data_dir"]) / "studies.yaml"))
    log.info("validating all %d registered studies", len(studies))
    dataset, provenance = load_selection(config["data_dir"], studies)
    obs = observations(config, dataset, provenance["reference_groups"])
    write_csv(dataset_csv, dataset, float_format="%.10g")
    write_json(manifest_json, manifest(config, "all registered studies", dataset, provenance, obs))
    figures.data_overview(dataset, overview_png)
    log.info("catalog: %d studies, %d rows, %d fittable contrasts", len(studies), len(dataset), obs.n)


# -- fit -------------------------------------------------------------------------------------------
def fit(config: dict, analysis: str, *, dataset_csv, groups_csv, posterior_nc, fit_info_json, threads: int = 1) -> None:
    spec = config["analyses"][analysis]
    model = get_model(spec["model"])
    dataset = read_dataset(dataset_csv)
    obs = model.fits(observations(config, dataset, read_dataset(groups_csv)))
    settings = sampler_settings(config, analysis)
    seed = stable_seed(config["seed"], analysis, "fit")
    fitted = fitted_studies(obs)
    not_fitted = reasons_not_fitted(dataset, model, fitted)
    log.info("fitting %s to %d contrasts from %d studies (seed %d)", model.title, obs.n,
             obs.contrasts["study_id"].nunique(), seed)
    tree, timings = run_sampler(model.build(obs), settings, seed, cores=threads,
                                sampling_model=model.build(obs, collapse=True))
    constants = obs.contrasts.drop(columns=["y"]).copy()
    tree["constant_data"] = xr.Dataset.from_dataframe(constants.rename_axis("contrast")).assign_attrs(
        description="contrast metadata: groups, times (weeks), reported standard errors, provenance")
    write_netcdf(posterior_nc, tree)
    write_json(fit_info_json, {"analysis": analysis, "model": spec["model"], "seed": seed,
                               "sampler": settings.__dict__, "timings": timings, "n_contrasts": obs.n,
                               "threads": threads, "versions": versions(), "fitted_studies": fitted,
                               "n_directions": len(obs.directions), "not_fitted": not_fitted})


def load_tree(path) -> xr.DataTree:
    """A netCDF DataTree (posterior, scenario draws) read fully into memory."""
    return xr.open_datatree(path, engine="h5netcdf").load()


# -- diagnose --------------------------------------------------------------------------------------
def diagnose(config: dict, analysis: str, *, posterior_nc, fit_info_json, diagnostics_json, parameters_csv,
             rank_png) -> None:
    tree = load_tree(posterior_nc)
    info = json.loads(Path(fit_info_json).read_text())
    gate_config = config["diagnostics"]
    gate = Gate(rhat_max=gate_config["rhat_max"], ess_min=gate_config["ess_min"], ebfmi_min=gate_config["ebfmi_min"])
    result = run_diagnostics(tree, gate, sampling_seconds=info["timings"]["sampling_s"])
    result["analysis"] = analysis
    for c in result["checks"]:
        log.info("%s %s: %s", "PASS" if c["passed"] else ("FAIL" if c["gating"] else "WARN"), c["check"], c["detail"])
    if not result["passed"] and gate_config["strict"]:
        raise DiagnosticsGateError(failure_message(result, analysis))
    if not result["passed"]:
        log.warning(failure_message(result, analysis))
    table = parameter_summary(tree)
    write_csv(parameters_csv, table)
    write_json(diagnostics_json, result)
    names = [n for n in parameter_names(tree) if tree["posterior"][n].ndim == 2][:8]
    figures.rank_plot(tree, names, rank_png)


def gate_warning(diagnostics_json) -> str | None:
    result = json.loads(Path(diagnostics_json).read_text())
    if result["passed"]:
        return None
    failed = ", ".join(c["check"] for c in result["checks"] if not c["passed"] and c["gating"])
    return f"WARNING: this fit failed the diagnostics gate ({failed}); treat these results with caution"


# -- predict ---------------------------------------------------------------------------------------
def requirement(vocabulary_yaml) -> float:
    vocab = load_vocabulary(vocabulary_yaml)
    return float(vocab.species_requirement["human_female"]["value"])


def agent_classes(vocabulary_yaml) -> dict[str, str]:
    """Class of each intervention agent (the mechanism a model gives a scenario's treatment)."""
    return {agent: spec["class"] for agent, spec in load_vocabulary(vocabulary_yaml).interventions.items()}


def treatment_scenarios(config: dict) -> dict[str, str]:
    """Label -> name of every scenario with a treatment (for the cell-level comparison)."""
    return {f"{s['treatment']['agent']} {s['treatment'].get('dose', '')}".strip(): s["name"]
            for s in config["scenarios"] if s.get("treatment")}


def predict(config: dict, analysis: str, *, posterior_nc, diagnostics_json, dataset_csv, groups_csv, vocabulary_yaml,
            scenario_draws_nc, predictions_csv, curves_png, predictive_csv, coverage_csv, ppc_png, study_curves_csv,
            study_curves_png) -> None:
    """`scenario_draws_nc`: every scenario's draws, computed here once and read by summarize and sensitivity."""
    tree = load_tree(posterior_nc)
    model = get_model(config["analyses"][analysis]["model"])
    warning = gate_warning(diagnostics_json)
    draws = scenario_draws(model, tree["posterior"].dataset, config["scenarios"], requirement(vocabulary_yaml),
                           stable_seed(config["seed"], analysis, "predict"), agent_classes(vocabulary_yaml))
    write_netcdf(scenario_draws_nc, draws)
    bands = scenario_bands(draws)
    bands["gate_passed"] = warning is None
    write_csv(predictions_csv, bands)
    figures.bone_curves(bands, curves_png, f"{analysis}: predicted bone mass ({model.title})", warning)
    contrasts = tree["constant_data"].dataset.to_dataframe().reset_index()
    contrasts["y"] = tree["observed_data"]["y"].to_numpy()
    predictive = contrast_predictive(tree, contrasts)
    write_csv(predictive_csv, predictive)
    write_csv(coverage_csv, coverage_table(predictive))
    figures.predictive_check(predictive, ppc_png, f"{analysis}: observed contrasts vs posterior predictive")
    obs = observations(config, read_dataset(dataset_csv), read_dataset(groups_csv))
    curves = predicted_curves(model, obs, tree["posterior"].dataset, stable_seed(config["seed"], analysis, "curves"))
    curves["gate_passed"] = warning is None
    write_csv(study_curves_csv, curves)
    figures.study_curves(curves, observed_points(model.fits(obs).contrasts, curves), study_curves_png,
                         f"{analysis}: each study's predicted time course (credible bands of the mean, 50/90/95%) "
                         "and its observations", warning)


# -- summarize -------------------------------------------------------------------------------------
def drug_effect(spec: dict, data_dir) -> dict:
    """The printed trial difference the claim is checked against (`claim.drug`: study and outcome)."""
    dataset, _ = load_selection(data_dir, [spec["study"]])
    rows = dataset[(dataset["outcome"] == spec["outcome"]) & (dataset["statistic"] == "pct_difference_vs_control")]
    if rows.empty:
        raise ValueError(f"claim.drug: no pct_difference_vs_control row for {spec['outcome']} in {spec['study']}")
    row = rows.iloc[0]
    if row["dispersion_type"] == "SE":
        se = float(row["dispersion"])
    elif row["dispersion_type"] == "CI95":
        se = float(row["ci_upper"] - row["ci_lower"]) / (2 * 1.959963984540054)
    else:
        raise ValueError(f"claim.drug: {spec['study']} {spec['outcome']} has no SE or CI")
    return {"study": spec["study"], "outcome": spec["outcome"], "difference_pp": float(row["value"]), "se_pp": se,
            "years": float(row["time_weeks"]) / WEEKS_PER_YEAR, "source": f"{row['source_file']}:{row['source_row']}"}


def summarize(config: dict, analysis: str, *, posterior_nc, diagnostics_json, scenario_draws_nc, registry_yaml,
              summary_csv, derived_csv, probabilities_csv, claim_json, routes_csv, cells_csv) -> None:
    """`registry_yaml`: the registry beside the claim's drug table and the vocabulary (all rule inputs)."""
    tree = load_tree(posterior_nc)
    model = get_model(config["analyses"][analysis]["model"])
    summary = parameter_summary(tree)
    warning = gate_warning(diagnostics_json)
    summary["gate_passed"] = warning is None
    write_csv(summary_csv, summary)
    data_dir = Path(registry_yaml).parent
    vocabulary = data_dir / "vocabulary.yaml"
    classes, seed = agent_classes(vocabulary), stable_seed(config["seed"], analysis, "predict")
    paths, times = scenario_paths(load_tree(scenario_draws_nc))
    bone = bone_percent(paths)
    derived, probabilities = derived_quantities(bone, times, config["derived"])
    derived["gate_passed"] = warning is None
    write_csv(derived_csv, derived)
    write_csv(probabilities_csv, probabilities)
    claim = claim_check(bone, times, config["claim"], drug_effect(config["claim"]["drug"], data_dir),
                        np.random.default_rng(stable_seed(config["seed"], analysis, "claim")))
    claim.update({"analysis": analysis, "model": model.title, "gate_passed": warning is None, "gate_warning": warning})
    cells = pd.DataFrame(cell_effects(paths, times, config["claim"], treatment_scenarios(config),
                                      claim["drug"]["printed"]["years"]),
                         columns=["intervention", "scenario", "quantity", "years", "median", "eti90_lower", "eti90_upper"])
    claim["cell_effects"] = cells.to_dict("records")
    write_json(claim_json, claim)
    write_csv(cells_csv, cells)
    routes = route_attribution(model, tree["posterior"].dataset, config["scenarios"], config["claim"],
                               requirement(vocabulary), seed, classes)
    if routes.empty:
        log.info("%s has no mechanistic routes to switch off (an empirical model)", model.title)
    write_csv(routes_csv, routes)


# -- compare ---------------------------------------------------------------------------------------
def compare(analyses: list[str], posteriors: list, *, loo_csv, agreement_csv, agreement_png) -> None:
    """PSIS-LOO on the observations the analyses share, and agreement of the parameters they share."""
    from mgbone.analysis.agreement import agreement_table, parameter_elements
    from mgbone.analysis.comparisons import loo_comparison

    trees = {name: load_tree(path) for name, path in zip(analyses, posteriors, strict=True)}
    try:
        table = loo_comparison(trees)
        for row in table.itertuples():
            log.info("%s: elpd %.2f (se %.2f), diff %.2f (se %.2f)%s", row.analysis, row.elpd, row.se, row.elpd_diff,
                     row.dse, f"; {row.warning}" if row.warning else "")
    except ValueError as error:  # disjoint study sets: nothing to compare by LOO, say so in the table
        log.info("no LOO comparison: %s", error)
        table = pd.DataFrame([{"analysis": name, "warning": str(error)} for name in analyses])
    write_csv(loo_csv, table)
    agreement = agreement_table(trees)
    for row in agreement.itertuples():
        log.info("%s, %s vs %s: overlap %.2f, %s", row.parameter, row.analysis_a, row.analysis_b, row.overlap,
                 row.verdict)
    write_csv(agreement_csv, agreement)
    draws = {name: parameter_elements(tree["posterior"].dataset) for name, tree in trees.items()}
    shown = list(dict.fromkeys(agreement["parameter"]))[:24]
    figures.agreement_plot(draws, shown, agreement_png, "posteriors of the shared parameters, by analysis")


# -- leave one study out ---------------------------------------------------------------------------
def loso_batch(config: dict, analysis: str, studies: list[str], *, dataset_csv, groups_csv, held_out_csv,
               threads: int = 1, holdout: str = "loso") -> None:
    """Refit the analysis once per study of `studies` with that study left out, and predict its observations;
    `holdout` is the config section asking (`config.HOLDOUTS`: its sampler settings apply).

    One compiled model serves every fold (the folds differ in the holdout masks only); each fold's seed depends on
    the study, not on which batch it is in (nor on the section), so the numbers do not depend on `per_job`.
    """
    from mgbone.inference.backends import fit_each
    from mgbone.inference.holdout import held_out_predictive, study_masks

    model_def = get_model(config["analyses"][analysis]["model"])
    obs = model_def.fits(observations(config, read_dataset(dataset_csv), read_dataset(groups_csv)))
    present = set(obs.contrasts["study_id"]) | set(obs.directions.get("study_id", []))
    for study in studies:
        if study not in present:
            log.info("LOSO %s: %s has no observations %s fits: nothing to predict", analysis, study, model_def.name)
    folds = [s for s in studies if s in present]
    settings = SamplerSettings.from_config({**sampler_settings(config, analysis).__dict__,
                                            **config.get(holdout, {}).get("sampler", {})})  # (optional key)
    seeds = [stable_seed(config["seed"], analysis, "loso", study) for study in folds]
    model = model_def.build(obs, holdout=True)
    runs = ((seed, study_masks(obs, study)) for seed, study in zip(seeds, folds, strict=True))
    tables = []
    collapsed = model_def.build(obs, holdout=True, collapse=True)
    for k, (tree, seconds) in enumerate(fit_each(model, settings, runs, cores=threads, sampling_model=collapsed)):
        study, seed = folds[k], seeds[k]
        divergences = int(tree["sample_stats"]["diverging"].sum())
        held = held_out_predictive(model, obs, tree, study, seed + 3)
        held["fold_divergences"] = divergences  # (wall time goes to the log: tables must not depend on the machine)
        log.info("LOSO %s fold %d of %d: without %s (%d of %d contrasts held out), sampling %.1f s, %d divergences",
                 analysis, k + 1, len(folds), study, len(held), obs.n, seconds, divergences)
        tables.append(held)
    columns = ["study_id", "outcome", "y", "lpd"]
    write_csv(held_out_csv, pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns))


def loso_summarize(analysis: str, *, fold_csvs: list, posterior_nc, held_out_csv, summary_csv, loso_png,
                   holdout: str = "loso") -> None:
    """All folds in one table, each study's elpd without vs with itself, and the figure."""
    from mgbone.inference.holdout import loso_summary

    folds = [read_dataset(p) for p in fold_csvs]
    held = pd.concat([f for f in folds if not f.empty], ignore_index=True)
    tree = load_tree(posterior_nc)
    ll = tree["log_likelihood"]["y"].stack(sample=("chain", "draw")).transpose("sample", ...).to_numpy()
    # a contrast is identified by the table row it comes from (one row gives one contrast)
    constants = tree["constant_data"].dataset
    keys = zip(constants["study_id"].values.astype(str), constants["source_rows"].values.astype(str), strict=True)
    lpd = dict(zip(keys, np.logaddexp.reduce(ll, axis=0) - np.log(ll.shape[0]), strict=True))
    # (the fit keeps the metadata of its point contrasts only: direction rows get no in-sample lpd)
    held["lpd_in_sample"] = [lpd.get((s, r), np.nan) for s, r in zip(held["study_id"], held["source_rows"], strict=True)]
    write_csv(held_out_csv, held)
    summary = loso_summary(held)
    write_csv(summary_csv, summary)
    figures.loso_plot(held[held["pit"].notna()], loso_png,
                      f"{analysis}: each study predicted by the others ({HOLDOUTS[holdout]})")


# -- prior sensitivity -----------------------------------------------------------------------------
def sensitivity(config: dict, analysis: str, *, dataset_csv, groups_csv, posterior_nc, scenario_draws_nc,
                sensitivity_csv) -> None:
    """Power-scaling sensitivity of the parameters and of the conclusions (claim quantities)."""
    from mgbone.analysis.predictions import claim_draws
    from mgbone.inference.sensitivity import power_scaling

    model_def = get_model(config["analyses"][analysis]["model"])
    obs = model_def.fits(observations(config, read_dataset(dataset_csv), read_dataset(groups_csv)))
    tree = load_tree(posterior_nc)
    paths, times = scenario_paths(load_tree(scenario_draws_nc))
    bone = bone_percent(paths)
    conclusions = claim_draws(bone, times, config["claim"]) if _claim_scenarios_present(config, bone) else {}
    table = power_scaling(tree, model_def.build(obs), conclusions,
                          threshold=config.get("sensitivity", {}).get("threshold", 0.05))
    for row in table[table["diagnosis"] != "ok"].itertuples():
        log.info("%s %s: prior %.3f, likelihood %.3f: %s", row.kind, row.quantity, row.prior_sensitivity,
                 row.likelihood_sensitivity, row.diagnosis)
    write_csv(sensitivity_csv, table)


def _claim_scenarios_present(config: dict, bone: dict) -> bool:
    return config["claim"]["low_intake"] in bone and config["claim"]["supplemented"] in bone


# -- simulation-based calibration ------------------------------------------------------------------
def sbc_batch(config: dict, analysis: str, batch: int, *, dataset_csv, groups_csv, ranks_csv) -> None:
    """One batch of SBC simulations on the design of an analysis's studies (SYNTHETIC data)."""
    from mgbone.inference.calibration import sbc_simulations

    spec = config["sbc"]
    model_def = get_model(config["analyses"][analysis]["model"])
    obs = model_def.fits(observations(config, read_dataset(dataset_csv), read_dataset(groups_csv)))
    settings = SamplerSettings.from_config({**SamplerSettings().__dict__, **spec.get("sampler", {})})
    first = batch * spec["per_job"]
    indices = range(first, min(first + spec["per_job"], spec["simulations"]))
    log.info("SBC %s (%s): simulations %d-%d of %d", analysis, model_def.name, indices.start, indices.stop - 1,
             spec["simulations"])
    ranks = sbc_simulations(model_def.build(obs), indices, settings,
                            lambda i: stable_seed(config["seed"], analysis, "sbc", str(i)),
                            sampling_model=model_def.build(obs, collapse=True))
    write_csv(ranks_csv, ranks)


def sbc_combine(analysis: str, *, batch_csvs: list, ranks_csv, summary_csv, histogram_png) -> None:
    from mgbone.inference.calibration import sbc_summary

    ranks = pd.concat([read_dataset(p) for p in batch_csvs], ignore_index=True).sort_values(["simulation", "parameter"])
    write_csv(ranks_csv, ranks)
    summary = sbc_summary(ranks)
    write_csv(summary_csv, summary)
    figures.sbc_histograms(ranks, histogram_png, f"{analysis}: SBC rank histograms, "
                           f"{ranks['simulation'].nunique()} simulations (flat = calibrated)")
