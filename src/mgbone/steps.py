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

from mgbone.data import load_registry, load_selection, load_vocabulary
from mgbone.data.registry import sha256_of
from mgbone.inference.backends import SamplerSettings, fit as run_sampler
from mgbone.inference.diagnostics import Gate, diagnose as run_diagnostics, failure_message, parameter_names
from mgbone.inference.seeds import stable_seed
from mgbone.io import atomic_path, write_csv, write_json
from mgbone.models import get_model
from mgbone.models.observations import build_observations
from mgbone.reports import figures
from mgbone.reports.predictions import (
    claim_check, contrast_predictive, coverage_table, derived_quantities, scenario_predictions,
)
from mgbone.reports.summaries import parameter_summary

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
    studies = config["analyses"][analysis]["studies"]
    if studies == "all":
        return sorted(load_registry(Path(config["data_dir"]) / "studies.yaml"))
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
def pull(config: dict, analysis: str, dataset_csv, groups_csv, manifest_json, overview_png) -> None:
    studies = selected_studies(config, analysis)
    log.info("pulling %d studies for analysis %s: %s", len(studies), analysis, ", ".join(studies))
    dataset, provenance = load_selection(config["data_dir"], studies)
    obs = observations(config, dataset, provenance["reference_groups"])
    conversions = (dataset[dataset["conversion_factor"] != 1.0][["outcome", "unit", "unit_canonical", "conversion_factor"]]
                   .drop_duplicates().sort_values(["outcome", "unit"]).to_dict("records"))
    manifest = {
        "analysis": analysis,
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
    write_csv(dataset_csv, dataset, float_format="%.10g")
    write_csv(groups_csv, provenance["reference_groups"], float_format="%.10g")
    write_json(manifest_json, manifest)
    figures.data_overview(dataset, overview_png)
    log.info("dataset: %d rows, %d fittable contrasts", len(dataset), obs.n)


# -- fit -------------------------------------------------------------------------------------------
def fit(config: dict, analysis: str, dataset_csv, groups_csv, posterior_nc, fit_info_json, threads: int = 1) -> None:
    spec = config["analyses"][analysis]
    model = get_model(spec["model"])
    obs = model.fits(observations(config, read_dataset(dataset_csv), read_dataset(groups_csv)))
    settings = sampler_settings(config, analysis)
    seed = stable_seed(config["seed"], analysis, "fit")
    log.info("fitting %s to %d contrasts from %d studies (seed %d)", model.title, obs.n,
             obs.contrasts["study_id"].nunique(), seed)
    tree, timings = run_sampler(model.build(obs), settings, seed, cores=threads)
    constants = obs.contrasts.drop(columns=["y"]).copy()
    tree["constant_data"] = xr.Dataset.from_dataframe(constants.rename_axis("contrast")).assign_attrs(
        description="contrast metadata: groups, times (weeks), reported standard errors, provenance")
    with atomic_path(posterior_nc) as tmp:
        tree.to_netcdf(tmp, engine="h5netcdf")
    write_json(fit_info_json, {"analysis": analysis, "model": spec["model"], "seed": seed,
                               "sampler": settings.__dict__, "timings": timings, "n_contrasts": obs.n,
                               "threads": threads, "versions": versions()})


def load_posterior(path) -> xr.DataTree:
    return xr.open_datatree(path, engine="h5netcdf").load()


# -- diagnose --------------------------------------------------------------------------------------
def diagnose(config: dict, analysis: str, posterior_nc, fit_info_json, diagnostics_json, parameters_csv, rank_png) -> None:
    tree = load_posterior(posterior_nc)
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
def requirement(config: dict) -> float:
    vocab = load_vocabulary(Path(config["data_dir"]) / "vocabulary.yaml")
    return float(vocab.species_requirement["human_female"]["value"])


def predict(config: dict, analysis: str, posterior_nc, diagnostics_json, predictions_csv, curves_png,
            predictive_csv, coverage_csv, ppc_png) -> None:
    tree = load_posterior(posterior_nc)
    model = get_model(config["analyses"][analysis]["model"])
    warning = gate_warning(diagnostics_json)
    bands, _, _ = scenario_predictions(model, tree["posterior"].dataset, config["scenarios"], requirement(config),
                                       stable_seed(config["seed"], analysis, "predict"))
    bands["gate_passed"] = warning is None
    write_csv(predictions_csv, bands)
    figures.bone_curves(bands, curves_png, f"{analysis}: predicted bone mass ({model.title})", warning)
    contrasts = tree["constant_data"].dataset.to_dataframe().reset_index()
    contrasts["y"] = tree["observed_data"]["y"].to_numpy()
    predictive = contrast_predictive(tree, contrasts)
    write_csv(predictive_csv, predictive)
    write_csv(coverage_csv, coverage_table(predictive))
    figures.predictive_check(predictive, ppc_png, f"{analysis}: observed contrasts vs posterior predictive")


# -- summarize -------------------------------------------------------------------------------------
def drug_effect(config: dict) -> dict:
    spec = config["claim"]["drug"]
    dataset, _ = load_selection(config["data_dir"], [spec["study"]])
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
            "years": float(row["time_weeks"]) / (365.25 / 7), "source": f"{row['source_file']}:{row['source_row']}"}


def summarize(config: dict, analysis: str, posterior_nc, diagnostics_json, summary_csv, derived_csv,
              probabilities_csv, claim_json) -> None:
    tree = load_posterior(posterior_nc)
    model = get_model(config["analyses"][analysis]["model"])
    summary = parameter_summary(tree)
    warning = gate_warning(diagnostics_json)
    summary["gate_passed"] = warning is None
    write_csv(summary_csv, summary)
    _, bone, times = scenario_predictions(model, tree["posterior"].dataset, config["scenarios"], requirement(config),
                                          stable_seed(config["seed"], analysis, "predict"))
    derived, probabilities = derived_quantities(bone, times, config["derived"])
    derived["gate_passed"] = warning is None
    write_csv(derived_csv, derived)
    write_csv(probabilities_csv, probabilities)
    claim = claim_check(bone, times, config["claim"], drug_effect(config),
                        np.random.default_rng(stable_seed(config["seed"], analysis, "claim")))
    claim.update({"analysis": analysis, "model": model.title, "gate_passed": warning is None, "gate_warning": warning})
    write_json(claim_json, claim)


# -- compare ---------------------------------------------------------------------------------------
def compare(analyses: list[str], posteriors: list, comparison_csv) -> None:
    from mgbone.reports.comparisons import loo_comparison

    trees = {name: load_posterior(path) for name, path in zip(analyses, posteriors, strict=True)}
    table = loo_comparison(trees)
    for row in table.itertuples():
        log.info("%s: elpd %.2f (se %.2f), diff %.2f (se %.2f)%s", row.analysis, row.elpd, row.se, row.elpd_diff,
                 row.dse, f"; {row.warning}" if row.warning else "")
    write_csv(comparison_csv, table)
