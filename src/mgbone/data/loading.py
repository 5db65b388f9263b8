"""Read, validate and harmonise the study tables a run selects."""

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.errors

from mgbone.data.checks import HEADER_LINES, coerce_numbers, design_limits, groups_consistent, plausibility
from mgbone.data.errors import DataIssue, DataValidationError
from mgbone.data.intake import with_habitual_intake
from mgbone.data.registry import load_registry, sha256_of
from mgbone.data.schema import COLUMNS, OPTIONAL_COLUMNS, study_table_schema
from mgbone.data.units import dose_as_percent_requirement, harmonise
from mgbone.data.vocabulary import Vocabulary, load_vocabulary


def _line_of_byte(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def read_study_table(path: Path, study_id: str, vocab: Vocabulary) -> pd.DataFrame:
    """Read one study table; raise DataValidationError naming file, row and column of each problem."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataValidationError([DataIssue(name, "study file not found")]) from None
    if not raw.strip():
        raise DataValidationError([DataIssue(name, "empty file")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataValidationError(
            [DataIssue(name, "wrong encoding: file is not UTF-8", row=_line_of_byte(raw, err.start),
                       detail=f"byte 0x{raw[err.start]:02x} at offset {err.start}")]
        ) from None
    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as err:
        raise DataValidationError([DataIssue(name, "malformed CSV", detail=str(err))]) from None
    missing = [c for c in COLUMNS if c not in table.columns]
    unknown = [c for c in table.columns if c not in COLUMNS + OPTIONAL_COLUMNS]
    issues = [DataIssue(name, "missing column", row=1, column=c) for c in missing]
    issues += [DataIssue(name, "unknown column", row=1, column=c) for c in unknown]
    if issues:
        raise DataValidationError(issues)
    if table.empty:
        raise DataValidationError([DataIssue(name, "no data rows")])
    table = table.apply(lambda col: col.str.strip()).replace("", pd.NA)
    for column in OPTIONAL_COLUMNS:
        if column not in table.columns:
            table[column] = None
    # numbers first: a cell that is not a number is said so once, not blamed on the rules it then breaks
    table, issues = coerce_numbers(name, table)
    if issues:
        raise DataValidationError(issues)
    schema = study_table_schema(vocab, study_id)
    try:
        table = schema.validate(table, lazy=True)
    except pandera.errors.SchemaErrors as err:
        raise DataValidationError(_issues_from_pandera(name, err.failure_cases)) from None
    issues = plausibility(name, table, vocab) + design_limits(name, table) + groups_consistent(name, table)
    if issues:
        raise DataValidationError(sorted(issues, key=lambda i: (i.row or 0, i.column or "", i.rule)))
    table["source_file"] = path.name
    table["source_row"] = table.index.to_numpy() + 1 + HEADER_LINES
    return table.reset_index(drop=True)


def _issues_from_pandera(name: str, cases: pd.DataFrame) -> list[DataIssue]:
    issues = set()
    for case in cases.itertuples(index=False):
        row = None if pd.isna(case.index) else int(case.index) + 1 + HEADER_LINES
        column, rule = case.column, str(case.check)
        detail = "" if pd.isna(case.failure_case) else f"found {case.failure_case!r}"
        if "[" in rule and rule.endswith("]"):
            # a cross-column rule: pandera lists every cell of the row; name the column to look at
            rule, column = rule[:-1].split(" [", 1)
            detail = ""
        elif "uniqueness" in rule or rule.startswith("duplicates"):
            rule, column, detail = "duplicate row (same study, group, outcome, statistic, time)", None, ""
        elif rule.startswith("coerce_dtype") or rule.startswith("dtype"):
            rule = f"not a valid {rule.split('(')[-1].rstrip(')')} value"
        elif rule.startswith("not_nullable"):
            rule = "required value is missing"
        if not isinstance(column, str) or column not in COLUMNS + OPTIONAL_COLUMNS:
            column = None
        issues.add(DataIssue(name, rule, row=row, column=column, detail=detail))
    return sorted(issues, key=lambda i: (i.row or 0, i.column or "", i.rule))


def load_selection(data_dir: str | Path, study_ids: list[str],
                   sources: dict[str, tuple[Path, str]] | None = None) -> tuple[pd.DataFrame, dict]:
    """Validate and harmonise the selected studies; return (dataset, provenance facts).

    `sources` maps a study to (local copy, origin) when its table was fetched from elsewhere (e.g.
    a URL through Snakemake's storage support); the copy must match the registry's sha256."""
    data_dir = Path(data_dir)
    registry = load_registry(data_dir / "studies.yaml")
    vocab = load_vocabulary(data_dir / "vocabulary.yaml")
    absent = [s for s in study_ids if s not in registry]
    if absent:
        raise DataValidationError(
            [DataIssue(str(data_dir / "studies.yaml"), "study selected in the config but absent from the registry",
                       detail=s) for s in absent]
        )
    tables, files, issues = [], [], []
    for study_id in study_ids:
        entry = registry[study_id]
        path, origin = (sources or {}).get(study_id, (data_dir / entry["file"], f"data/{entry['file']}"))
        path = Path(path)
        if Path(entry["file"]).stem != study_id:
            issues.append(DataIssue(str(data_dir / "studies.yaml"), f"file of '{study_id}' must be studies/{study_id}.csv"))
            continue
        if not path.exists():
            issues.append(DataIssue(origin, "study file not found"))
            continue
        checksum = sha256_of(path)
        if checksum != entry["sha256"]:
            issues.append(DataIssue(origin, "checksum mismatch with the registry",
                                    detail=f"registry {entry['sha256'][:12]}..., file {checksum[:12]}..."))
            continue
        try:
            table = read_study_table(path, study_id, vocab)
        except DataValidationError as err:
            issues.extend(err.issues)
            continue
        species = set(table["species"])
        if species != {entry["species"]}:
            issues.append(DataIssue(str(path), "species differs from the registry", column="species",
                                    detail=f"registry {entry['species']}, table {sorted(species)}"))
        tables.append(table)
        files.append({"study_id": study_id, "file": f"data/{entry['file']}", "source": origin, "sha256": checksum,
                      "rows": len(table)})
    if issues:
        raise DataValidationError(issues)
    dataset = harmonise(pd.concat(tables, ignore_index=True), vocab)
    dataset["design"] = dataset["study_id"].map({s: registry[s]["design"] for s in study_ids})
    weeks_per_year = vocab.time_units["year"]
    dataset["menopause_at_weeks"] = dataset["study_id"].map(
        {s: (registry[s].get("menopause_at_years") or 0.0) * weeks_per_year for s in study_ids})
    dataset = with_habitual_intake(with_baseline_levels(dataset, registry, vocab), registry, vocab, data_dir)
    reference = with_habitual_intake(reference_groups(registry, study_ids, vocab), registry, vocab, data_dir)
    return dataset, {"files": files, "registry": {s: registry[s] for s in study_ids}, "reference_groups": reference}


def with_baseline_levels(dataset: pd.DataFrame, registry: dict, vocab: Vocabulary) -> pd.DataFrame:
    """Columns `baseline_level` and `baseline_level_se` (canonical units) on the rows of an absolute scale whose study
    and outcome have a cited baseline level in the registry; NaN elsewhere. The uncertainty of the level is the
    standard error of its mean when it was measured on the study's own participants, and the between-person SD
    when it comes from another sample of the population (how far that sample's mean is from the study's is
    unknown, so the spread of individuals bounds it)."""
    levels, issues = {}, []
    for s in dataset["study_id"].unique():
        for k, b in enumerate(registry[s].get("baseline_levels") or []):
            units = vocab.outcomes.get(b["outcome"], {}).get("units", {})
            if b["unit"] not in units:
                issues.append(DataIssue("data/studies.yaml", f"key '{s}/baseline_levels/{k}': '{b['unit']}' is not a "
                                        f"unit of outcome '{b['outcome']}'", detail=f"units: {sorted(units)}"))
                continue
            factor = vocab.unit_factor(b["outcome"], b["unit"])
            spread = b["sd"] / np.sqrt(b["n"]) if b["same_sample"] else b["sd"]
            levels[(s, b["outcome"])] = (b["value"] * factor, spread * factor)
    if issues:
        raise DataValidationError(issues)
    keys = list(zip(dataset["study_id"], dataset["outcome"], strict=True))
    absolute = (dataset["scale"] == "absolute").to_numpy()
    found = [levels.get(k) if a else None for k, a in zip(keys, absolute, strict=True)]
    out = dataset.copy()
    out["baseline_level"] = [f[0] if f else np.nan for f in found]
    out["baseline_level_se"] = [f[1] if f else np.nan for f in found]
    return out


def reference_groups(registry: dict, study_ids: list[str], vocab: Vocabulary) -> pd.DataFrame:
    """Groups a study defines (e.g. the bottom intake quintile) but reports no number for."""
    rows = []
    weeks = vocab.time_units["year"]
    for s in study_ids:
        for g in registry[s].get("reference_groups") or []:
            agent = g.get("intervention")
            rows.append({"study_id": s, "group": g["group"], "species": registry[s]["species"],
                         "life_stage": g["life_stage"], "sex": g.get("sex", "F"),
                         "mg_pct_requirement": dose_as_percent_requirement(
                             vocab, registry[s]["species"], g.get("sex", "F"), g.get("mg_dose"), g.get("mg_dose_unit")),
                         "intervention": agent, "intervention_dose": g.get("intervention_dose"),
                         "intervention_class": vocab.interventions[agent]["class"] if agent else None,
                         "intervention_start_weeks": g.get("intervention_start_years", float("nan")) * weeks,
                         "intervention_stop_weeks": g.get("intervention_stop_years", float("nan")) * weeks})
    return pd.DataFrame(rows, columns=["study_id", "group", "species", "life_stage", "sex", "mg_pct_requirement",
                                       "intervention", "intervention_dose", "intervention_class",
                                       "intervention_start_weeks", "intervention_stop_weeks"])
