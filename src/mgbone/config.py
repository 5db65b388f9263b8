"""Checks of the config that a JSON schema cannot express (references between sections)."""


class ConfigError(ValueError):
    pass


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
    for section in ("loso", "sbc"):
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
