"""Checks a column schema cannot express: numbers as a tired curator pastes them, physiological
plausibility, and one reference group per study. Each returns DataIssues naming file, row, column and rule.
"""

import math
import re

import numpy as np
import pandas as pd

from mgbone.data.errors import DataIssue
from mgbone.data.vocabulary import DIRECTION, Vocabulary

HEADER_LINES = 1  # pandas index 0 is file line 2
NUMERIC_COLUMNS = ["mg_dose", "time", "time_start", "value", "dispersion", "ci_lower", "ci_upper", "n",
                   "intervention_start", "intervention_stop"]  # fmt: skip
# Why a cell that is not a number was probably written that way, and what to write instead.
NOT_A_NUMBER_HINTS = [
    (re.compile(r"^[+-]?\d+,\d+$"), "decimal comma: write 0.4, not 0,4"),
    (re.compile(r"^(na|n/a|nan|null|none|-|--|\.|nd|n\.d\.)$", re.I), "missing value: leave the cell empty"),
    (re.compile(r"^[<>≤≥]=?\s*\d"), "a bound, not a value: record the number only where it is printed as one"),
    (re.compile(r"%$"), "percent sign: write the number and put `percent` in the unit column"),
    (re.compile(r"[\u2212\u2013\u2014]"), "typographic minus or dash: use the ASCII hyphen-minus"),
    (re.compile(r"\d\s*(±|\+/-)\s*\d"), "mean and spread in one cell: put the spread in `dispersion`"),
    (re.compile(r"^\d{1,3}( \d{3})+(\.\d+)?$"), "thousands separator: write 1234.5"),
    (re.compile(r"^\s*\d+(\.\d+)?\s*[a-zA-Zµ/]+"), "a unit inside the number: put it in the unit column"),
]
PERCENT_MAX = 1000.0  # a rise of more than tenfold printed as a percent is almost always a pasted ratio
TIME_MAX_YEARS = 100.0  # no study here follows anyone for a century
N_MAX = 10_000_000  # more people than any cohort here
DOSE_MAX = {"mg/day": 5000.0, "mmol/day": 200.0, "mg/kg diet": 50000.0, "percent requirement": 2000.0}


def _row(index) -> int:
    return int(index) + 1 + HEADER_LINES


def _hint(text: str) -> str:
    return next((hint for pattern, hint in NOT_A_NUMBER_HINTS if pattern.search(text)), "")


def coerce_numbers(name: str, table: pd.DataFrame) -> tuple[pd.DataFrame, list[DataIssue]]:
    """Parse the numeric columns; every cell that is not a finite number is an issue of its own, said as such
    (checked before any rule between columns, so one bad cell does not also blame its neighbours)."""
    issues, out = [], table.copy()
    for column in [c for c in NUMERIC_COLUMNS if c in out.columns]:
        raw = out[column]
        parsed = pd.to_numeric(raw, errors="coerce")
        for index in raw.index[raw.notna() & parsed.isna()]:
            text = str(raw[index])
            hint = _hint(text)
            issues.append(DataIssue(name, "not a number", row=_row(index), column=column,
                                    detail=f"found {text!r}" + (f"; {hint}" if hint else "")))
        for index in parsed.index[np.isinf(parsed.to_numpy(float, na_value=np.nan))]:
            issues.append(DataIssue(name, "not a finite number", row=_row(index), column=column,
                                    detail=f"found {raw[index]!r}"))
        out[column] = parsed.where(np.isfinite(parsed.to_numpy(float, na_value=np.nan)))
    whole = out["n"].dropna() if "n" in out.columns else pd.Series(dtype=float)
    for index in whole.index[(whole % 1) != 0]:
        issues.append(DataIssue(name, "n must be a whole number", row=_row(index), column="n",
                                detail=f"found {table.loc[index, 'n']!r}"))
    return out, issues


def _plausible(vocab: Vocabulary, outcome: str) -> dict | None:
    return vocab.outcomes.get(outcome, {}).get("plausible")


def plausibility(name: str, table: pd.DataFrame, vocab: Vocabulary) -> list[DataIssue]:
    """Values within the physiological bounds of their outcome (vocabulary.yaml `plausible`, with its reason)."""
    issues = []
    for index, row in table.iterrows():
        outcome, statistic, unit, value = row["outcome"], row["statistic"], row["unit"], row["value"]
        if outcome not in vocab.outcomes or statistic not in vocab.statistics or pd.isna(value):
            continue
        scale = vocab.scale(statistic)
        if scale == DIRECTION:
            if value not in (-1.0, 0.0, 1.0):
                issues.append(DataIssue(name, "a direction is 1 (higher), -1 (lower) or 0 (no difference)",
                                        row=_row(index), column="value", detail=f"found {value:g}"))
            continue
        if scale == "percent":
            if value > PERCENT_MAX:
                issues.append(DataIssue(name, f"a percent change above +{PERCENT_MAX:g}% is implausible "
                                        "(a ratio or a level pasted as a percent?)", row=_row(index), column="value",
                                        detail=f"found {value:g}"))
            continue
        bounds = _plausible(vocab, outcome)
        if bounds is None or not vocab.accepts(outcome, statistic, unit):
            continue
        canonical = value * vocab.unit_factor(outcome, unit)
        low, high = float(bounds["min"]), float(bounds["max"])
        span = high - low
        out_of_range = (scale == "level" and not low <= canonical <= high) or (scale == "absolute" and abs(canonical) > span)
        if out_of_range:
            limits = f"{low:g} to {high:g}" if scale == "level" else f"a change of at most {span:g}"
            issues.append(DataIssue(
                name, f"outside the plausible range of {outcome} ({limits} {vocab.canonical_unit(outcome)}: "
                f"{bounds['reason']})", row=_row(index), column="value",
                detail=f"found {value:g} {unit} = {canonical:g} {vocab.canonical_unit(outcome)}"))
    return issues


def design_limits(name: str, table: pd.DataFrame) -> list[DataIssue]:
    """Times, doses and sizes no study in this field reaches: typos and unit slips."""
    issues = []
    years = {"day": 1 / 365.25, "week": 7 / 365.25, "month": 1 / 12, "year": 1.0}
    for index, row in table.iterrows():
        factor = years.get(row["time_unit"])
        for column in ("time", "time_start"):
            if factor and pd.notna(row.get(column)) and row[column] * factor > TIME_MAX_YEARS:
                issues.append(DataIssue(name, f"time beyond {TIME_MAX_YEARS:g} years (a unit slip?)", row=_row(index),
                                        column=column, detail=f"found {row[column]:g} {row['time_unit']}"))
        limit = DOSE_MAX.get(row["mg_dose_unit"])
        if limit is not None and pd.notna(row["mg_dose"]) and row["mg_dose"] > limit:
            issues.append(DataIssue(name, f"mg_dose above {limit:g} {row['mg_dose_unit']} is implausible (a unit slip?)",
                                    row=_row(index), column="mg_dose", detail=f"found {row['mg_dose']:g}"))
        if pd.notna(row["n"]) and row["n"] > N_MAX:
            issues.append(DataIssue(name, f"n above {N_MAX:,} is implausible", row=_row(index), column="n",
                                    detail=f"found {row['n']:g}"))
    return issues


# (a group's Mg dose may change over time, e.g. a loading dose then maintenance, and cohorts followed through
# menopause record the life stage of each interval, so neither is compared)
GROUP_ATTRIBUTES = ["role", "species", "sex"]


def groups_consistent(name: str, table: pd.DataFrame) -> list[DataIssue]:
    """One reference group per study, and each group described the same way on every row."""
    issues = []
    controls = table.loc[table["role"] == "control", "group"].dropna().unique()
    if len(controls) > 1:
        first = {g: _row(table.index[table["group"] == g][0]) for g in controls}
        detail = ", ".join(f"'{g}' (first on row {r})" for g, r in first.items())
        for g in controls[1:]:
            issues.append(DataIssue(name, "exactly one reference group per study: a second group has role 'control'",
                                    row=first[g], column="role", detail=f"control groups {detail}; mark one "
                                    "'control' and the others 'treatment', or split the source into two studies"))
    for group, rows in table.groupby("group", sort=False):
        for column in GROUP_ATTRIBUTES:
            values = rows[column].dropna()
            values = values.map(lambda v: f"{v:g}" if isinstance(v, float) else str(v)).unique()
            if len(values) > 1:
                second = rows.index[rows[column].map(lambda v, first=rows[column].iloc[0]: _differs(v, first))][0]
                issues.append(DataIssue(name, f"group '{group}' has different {column} on different rows",
                                        row=_row(second), column=column, detail=f"values {sorted(values)}"))
    return issues


def _differs(value, first) -> bool:
    both_missing = pd.isna(value) and pd.isna(first)
    if both_missing:
        return False
    if isinstance(value, float) and isinstance(first, float):
        return not math.isclose(value, first) and not (math.isnan(value) and math.isnan(first))
    return value != first
