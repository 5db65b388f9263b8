"""Checks of the config that a JSON schema cannot express (references between sections)."""


class ConfigError(ValueError):
    pass


# Held-out refits: config section (and results folder) -> what is held out. Both hold out one study per fold (the
# same fold, seed and numbers whichever section asks for it); they differ in the designs held out by default and in
# where the folds are written, so the magnesium studies and the drug trials are validated side by side.
HOLDOUTS = {"loso": "leave one study out", "loto": "leave one trial out"}


def check_references(config: dict) -> None:
    """Raise ConfigError naming the key whose value refers to something undefined."""
    problems = []
    scenarios = [s["name"] for s in config["scenarios"]]
    duplicates = sorted({n for n in scenarios if scenarios.count(n) > 1})
    if duplicates:
        problems.append(f"scenarios: duplicate name(s) {duplicates}")
    for i, spec in enumerate(config.get("derived", {}).get("loss_rates", [])):
        if spec["scenario"] not in scenarios:
            problems.append(f"derived.loss_rates[{i}].scenario: '{spec['scenario']}' is not a scenario name {scenarios}")
        if spec["to_years"] <= spec["from_years"]:
            problems.append(f"derived.loss_rates[{i}]: to_years must be greater than from_years")
    for i, spec in enumerate(config.get("derived", {}).get("contrasts", [])):
        for key in ("scenario", "reference"):
            if spec[key] not in scenarios:
                problems.append(f"derived.contrasts[{i}].{key}: '{spec[key]}' is not a scenario name {scenarios}")
    for name, spec in config.get("comparisons", {}).items():
        for analysis in spec["analyses"]:
            if analysis not in config["analyses"]:
                problems.append(f"comparisons.{name}.analyses: '{analysis}' is not an analysis {sorted(config['analyses'])}")
    for section in (*HOLDOUTS, "sbc"):
        for analysis in config.get(section, {}).get("analyses", []):
            if analysis not in config["analyses"]:
                problems.append(f"{section}.analyses: '{analysis}' is not an analysis {sorted(config['analyses'])}")
    claim = config["claim"]
    if claim["analysis"] not in config["analyses"]:
        problems.append(f"claim.analysis: '{claim['analysis']}' is not an analysis {sorted(config['analyses'])}")
    for key in ("low_intake", "supplemented"):
        if claim[key] not in scenarios:
            problems.append(f"claim.{key}: '{claim[key]}' is not a scenario name {scenarios}")
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))


# -- the config each step reads: its rule's params are exactly this, so a change reruns what it changes --------
# Dotted paths into the config; `{analysis}` is the job's analysis. A step is handed only these keys (see
# `step_config`), so reading anything else is a KeyError in the step, not a silently stale result.
STEP_KEYS: dict[str, tuple[str, ...]] = {
    "catalog": ("data_dir", "observation.cohort_exposure_years"),
    "pull": ("data_dir", "observation.cohort_exposure_years", "remote_data", "analyses.{analysis}.studies",
             "analyses.{analysis}.species"),
    "fit": ("seed", "observation.cohort_exposure_years", "sampler_defaults", "analyses.{analysis}.model",
            "analyses.{analysis}.sampler"),
    "diagnose": ("diagnostics",),
    "predict": ("seed", "observation.cohort_exposure_years", "scenarios", "analyses.{analysis}.model"),
    "summarize": ("seed", "scenarios", "derived", "claim.low_intake", "claim.supplemented", "claim.horizon_years",
                  "claim.drug", "analyses.{analysis}.model"),
    "sensitivity": ("observation.cohort_exposure_years", "claim.low_intake",
                    "claim.supplemented", "claim.horizon_years", "sensitivity.threshold",
                    "analyses.{analysis}.model"),
    "loso_batch": ("seed", "observation.cohort_exposure_years", "sampler_defaults", "analyses.{analysis}.model",
                   "analyses.{analysis}.sampler", "{holdout}.sampler"),
    "sbc_batch": ("seed", "observation.cohort_exposure_years", "sbc.simulations", "sbc.per_job", "sbc.sampler",
                  "analyses.{analysis}.model"),
}
_MISSING = object()


def _lookup(config: dict, path: list[str]):
    node = config
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


def step_config(config: dict, step: str, analysis: str | None = None, holdout: str | None = None) -> dict:
    """The part of `config` a step reads (nested as in the config; optional keys absent when unset); `{analysis}`
    and `{holdout}` in a key are the job's analysis and held-out section."""
    out: dict = {}
    for dotted in STEP_KEYS[step]:
        path = dotted.format(analysis=analysis, holdout=holdout).split(".")
        value = _lookup(config, path)
        if value is _MISSING:
            continue
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return out
