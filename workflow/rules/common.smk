from pathlib import Path

from snakemake.utils import min_version, validate

from mgbone.config import HOLDOUTS, check_references, step_config
from mgbone.data import load_registry
from mgbone.provenance import library_fingerprint
from mgbone.steps import remote_url, selected_studies

min_version("9.0")


storage:
    provider="http",


validate(config, "../schemas/config.schema.yaml")
check_references(config)

# every rule's params carry the library's source hash: editing mgbone reruns what it computed
LIBRARY = library_fingerprint()
ANALYSES = sorted(config["analyses"])
COMPARISONS = sorted(config.get("comparisons", {}))
# held-out refits (mgbone.config.HOLDOUTS: loso, loto): (section, analysis) for every analysis a section lists
HOLDOUT_RUNS = [
    (holdout, analysis)
    for holdout in HOLDOUTS
    for analysis in sorted(config.get(holdout, {}).get("analyses", []))
]
SBC_ANALYSES = sorted(config.get("sbc", {}).get("analyses", []))


wildcard_constraints:
    analysis="|".join(ANALYSES),
    comparison="|".join(COMPARISONS) if COMPARISONS else "no-comparisons",
    study="[A-Za-z0-9_-]+",
    batch="[0-9]+",
    holdout="|".join(HOLDOUTS),


def registry_path():
    return Path(config["data_dir"]) / "studies.yaml"


def study_tables(wildcards):
    """The study tables an analysis reads, in selection order: local files (so editing one reruns only
    what depends on it), or with `remote_data.enabled` URLs fetched through Snakemake's storage support.
    """
    registry = load_registry(registry_path())
    fetch = storage.http  # (a line may not start with the `storage` keyword)
    tables = []
    for study in selected_studies(config, wildcards.analysis):
        if study not in registry:
            continue  # pull names it (study selected in the config but absent from the registry)
        url = remote_url(config, registry[study]["file"])
        local = Path(config["data_dir"]) / registry[study]["file"]
        tables.append(fetch(url) if url else str(local))
    return tables


def data_metadata():
    """The registry (checksums: the trust anchor for fetched tables), the vocabulary and the habitual-intake
    distributions (mgbone.data.intake), always local."""
    data = Path(config["data_dir"])
    return [
        str(registry_path()),
        str(data / "vocabulary.yaml"),
        str(data / "reference" / "mg_intake.csv"),
    ]


def all_study_files(wildcards):
    """Every registered study table (the catalog validates them all)."""
    registry = load_registry(registry_path())
    return [
        str(Path(config["data_dir"]) / entry["file"]) for entry in registry.values()
    ] + [
        str(registry_path()),
        str(Path(config["data_dir"]) / "vocabulary.yaml"),
    ]


def settings(step):
    """The rule's `config` param: exactly the keys its step reads (mgbone.config.STEP_KEYS)."""
    return lambda wildcards: step_config(
        config,
        step,
        getattr(wildcards, "analysis", None),
        getattr(wildcards, "holdout", None),
    )


def vocabulary_file():
    return str(Path(config["data_dir"]) / "vocabulary.yaml")


def claim_drug_table(wildcards):
    """The trial table the claim's printed comparator is read from (pull names a study absent from the registry)."""
    registry = load_registry(registry_path())
    study = config["claim"]["drug"]["study"]
    return (
        [str(Path(config["data_dir"]) / registry[study]["file"])]
        if study in registry
        else []
    )


def analysis_outputs(kind):
    """Paths of one kind of per-analysis output for every analysis (report inputs)."""
    patterns = {
        "dataset": "results/{analysis}/data/dataset.csv",
        "fit_info": "results/{analysis}/fit/fit_info.json",
        "diagnostics": "results/{analysis}/diagnostics/diagnostics.json",
        "rank": "results/{analysis}/diagnostics/rank.png",
        "summary": "results/{analysis}/summary/parameters.csv",
        "derived": "results/{analysis}/summary/derived.csv",
        "probabilities": "results/{analysis}/summary/probabilities.csv",
        "claim": "results/{analysis}/summary/claim.json",
        "curves": "results/{analysis}/predict/curves.png",
        "ppc": "results/{analysis}/predict/predictive_check.png",
        "coverage": "results/{analysis}/predict/coverage.csv",
        "sensitivity": "results/{analysis}/summary/sensitivity.csv",
        "bands": "results/{analysis}/predict/bone_loss_bands.csv",
        "study_curves": "results/{analysis}/predict/study_curves.png",
        "routes": "results/{analysis}/summary/routes.csv",
    }
    return expand(patterns[kind], analysis=ANALYSES)


def comparison_outputs(kind):
    return expand(
        "results/comparisons/{comparison}/{kind}", comparison=COMPARISONS, kind=kind
    )


def loso_studies(holdout, analysis):
    """The studies a held-out section (loso, loto) holds out of an analysis, in selection order: every study, or
    those of the section's `designs`."""
    designs = config.get(holdout, {}).get("designs")
    registry = load_registry(registry_path())
    return [
        s
        for s in selected_studies(config, analysis)
        if not designs or (s in registry and registry[s]["design"] in designs)
    ]


def loso_batch_studies(wildcards):
    """The studies one loso_batch job holds out, one after the other (`per_job` of its section per job)."""
    size = config[wildcards.holdout]["per_job"]
    start = int(wildcards.batch) * size
    return loso_studies(wildcards.holdout, wildcards.analysis)[start : start + size]


def loso_batches(wildcards):
    size = config[wildcards.holdout]["per_job"]
    batches = -(-len(loso_studies(wildcards.holdout, wildcards.analysis)) // size)
    return expand(
        "results/{analysis}/{holdout}/batches/{batch}.csv",
        analysis=wildcards.analysis,
        holdout=wildcards.holdout,
        batch=range(batches),
    )


def holdout_outputs(name, sections=HOLDOUTS):
    """One output of the held-out sections' summaries (every section by default), for each analysis it lists."""
    return [
        f"results/{analysis}/{holdout}/{name}"
        for holdout, analysis in HOLDOUT_RUNS
        if holdout in sections
    ]


def sbc_batches(wildcards):
    spec = config["sbc"]
    batches = -(-spec["simulations"] // spec["per_job"])  # ceiling division
    return expand(
        "results/{analysis}/sbc/batches/{batch}.csv",
        analysis=wildcards.analysis,
        batch=range(batches),
    )


def comparison_analyses(wildcards):
    return config["comparisons"][wildcards.comparison]["analyses"]


def comparison_posteriors(wildcards):
    return expand(
        "results/{analysis}/fit/posterior.nc", analysis=comparison_analyses(wildcards)
    )
