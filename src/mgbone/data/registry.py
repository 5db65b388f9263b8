"""The study registry (data/studies.yaml): citation, identifiers, design and checksum per study."""

import hashlib
from pathlib import Path

import jsonschema
import yaml

from mgbone.data.errors import DataIssue, DataValidationError

DESIGNS = [
    "animal_deficiency",
    "animal_dose_response",
    "human_rct",
    "human_depletion",
    "human_cohort",
    "natural_history",
    "drug_trial",
    "meta_analysis",
]
SPECIES = ["rat", "mouse", "human"]

_nonempty = {"type": "string", "minLength": 1}
REGISTRY_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["studies"],
    "properties": {
        "studies": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9]*$"},
            "additionalProperties": {
                "type": "object",
                "required": [
                    "citation",
                    "url",
                    "design",
                    "species",
                    "population",
                    "time_origin",
                    "file",
                    "sha256",
                ],
                "properties": {
                    "citation": _nonempty,
                    "pmid": {"type": ["string", "null"], "pattern": "^[0-9]{1,9}$"},
                    "doi": {"type": ["string", "null"], "pattern": "^10\\.[0-9]{4,9}/\\S+$"},
                    "url": _nonempty,
                    "design": {"enum": DESIGNS},
                    "species": {"enum": SPECIES},
                    "population": _nonempty,
                    "time_origin": _nonempty,
                    "file": {"type": "string", "pattern": "^studies/[A-Za-z0-9]+\\.csv$"},
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "caveats": {"type": ["string", "null"]},
                    # no page printed a PMID or DOI: the citation is as printed on `url` (never an identifier
                    # that was not seen), and this says so explicitly
                    "no_identifier_printed": {"const": True},
                    # when a cohort followed through menopause passes its final menstrual period,
                    # in years after time_origin (estrogen loss starts then)
                    "menopause_at_years": {"type": ["number", "null"], "minimum": 0},
                    # groups the paper defines (e.g. a bottom intake quintile) but reports no number for
                    "reference_groups": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["group", "life_stage", "note"],
                            "properties": {
                                "group": _nonempty, "life_stage": _nonempty, "sex": {"enum": ["F", "M", "mixed"]},
                                "mg_dose": {"type": "number", "minimum": 0},
                                "mg_dose_unit": {"enum": ["mg/kg diet", "mg/day", "mmol/day", "percent requirement"]},
                                "note": _nonempty,
                                # a trial's placebo or comparator arm that prints no number of its own
                                "intervention": _nonempty,
                                "intervention_dose": _nonempty,
                                "intervention_start_years": {"type": "number"},
                                "intervention_stop_years": {"type": "number"},
                            },
                            "dependentRequired": {"mg_dose": ["mg_dose_unit"]},
                            "additionalProperties": False,
                        },
                    },
                    # groups' habitual Mg intake is not printed (a supplement on top of an unstated diet, a placebo
                    # arm): it is this source's population distribution in data/reference/mg_intake.csv, plus the
                    # group's mg_dose as a supplement (mgbone.data.intake)
                    "habitual_intake": _nonempty,
                    # cited baseline levels that turn the study's absolute changes into relative ones (mgbone.
                    # models.observations): the study's own printed baseline, or a cited one of the same population
                    "baseline_levels": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["outcome", "value", "sd", "unit", "same_sample", "citation", "url",
                                         "locator", "quote"],
                            "properties": {
                                "outcome": _nonempty, "value": {"type": "number", "exclusiveMinimum": 0},
                                "sd": {"type": "number", "exclusiveMinimum": 0}, "unit": _nonempty,
                                "n": {"type": "integer", "minimum": 1},
                                # the same participants as the study's rows (then the uncertainty of their mean
                                # is sd / sqrt(n)), or another sample of the population (then it is sd)
                                "same_sample": {"type": "boolean"},
                                "citation": _nonempty, "url": _nonempty, "locator": _nonempty, "quote": _nonempty,
                                "pmid": {"type": ["string", "null"], "pattern": "^[0-9]{1,9}$"},
                                "doi": {"type": ["string", "null"], "pattern": "^10\\.[0-9]{4,9}/\\S+$"},
                                "no_identifier_printed": {"const": True},
                            },
                            "if": {"properties": {"same_sample": {"const": True}}},
                            "then": {"required": ["n"]},
                            "anyOf": [{"required": ["pmid"]}, {"required": ["doi"]}, {"required": ["no_identifier_printed"]}],
                            "additionalProperties": False,
                        },
                    },
                },
                "anyOf": [
                    {"properties": {"pmid": {"type": "string"}}, "required": ["pmid"]},
                    {"properties": {"doi": {"type": "string"}}, "required": ["doi"]},
                    {"required": ["no_identifier_printed"]},
                ],
            },
        }
    },
}


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def load_registry(path: str | Path) -> dict[str, dict]:
    """Read and validate the registry; return {study_id: entry}."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
    except FileNotFoundError:
        raise DataValidationError([DataIssue(str(path), "registry file not found")]) from None
    except yaml.YAMLError as err:
        raise DataValidationError([DataIssue(str(path), "not valid YAML", detail=str(err))]) from None
    validator = jsonschema.Draft202012Validator(REGISTRY_SCHEMA)
    issues = []
    for error in sorted(validator.iter_errors(raw or {}), key=lambda e: list(e.path)):
        key_path = "/".join(str(p) for p in error.path) or "(top level)"
        message = error.message
        if error.validator == "anyOf":
            message = ("needs a PMID or a DOI (missing citation identifier), or `no_identifier_printed: true` "
                       "when no page printed one")
        issues.append(DataIssue(str(path), f"key '{key_path}': {message}"))
    if issues:
        raise DataValidationError(issues)
    return raw["studies"]
