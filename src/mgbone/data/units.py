"""Conversions to canonical units: the only place where reported numbers change scale."""

import math

import numpy as np
import pandas as pd

from mgbone.data.vocabulary import Vocabulary

Z95 = 1.959963984540054  # standard normal 97.5% quantile, for 95% CIs
MG_MOLAR_MASS = 24.305  # g/mol, for mmol/day -> mg/day of intake


def spread_to_sd(dispersion_type, dispersion, ci_lower, ci_upper, n) -> float:
    """SD of individual values from a reported SD, SE or 95% CI of a mean (NaN if none)."""
    if dispersion_type == "SD":
        return float(dispersion)
    if dispersion_type == "SE":
        return float(dispersion) * math.sqrt(n)
    if dispersion_type == "CI95":
        return (float(ci_upper) - float(ci_lower)) / (2 * Z95) * math.sqrt(n)
    return math.nan


def dose_as_percent_requirement(vocab: Vocabulary, species: str, sex: str, dose, unit) -> float:
    """Magnesium exposure as percent of the species (and, for humans, sex) requirement."""
    if dose is None or (isinstance(dose, float) and math.isnan(dose)) or unit is None:
        return math.nan
    if unit == "percent requirement":
        return float(dose)
    if species in ("rat", "mouse"):
        if unit != "mg/kg diet":
            return math.nan
        return 100.0 * float(dose) / vocab.species_requirement[species]["value"]
    intake = dose_as_mg_per_day(dose, unit)
    key = "human_male" if sex == "M" else "human_female"
    return 100.0 * intake / vocab.species_requirement[key]["value"]


def dose_as_mg_per_day(dose, unit) -> float:
    if unit == "mg/day":
        return float(dose)
    if unit == "mmol/day":
        return float(dose) * MG_MOLAR_MASS
    return math.nan


def harmonise(table: pd.DataFrame, vocab: Vocabulary) -> pd.DataFrame:
    """Add canonical value, unit, SD, time in weeks and Mg exposure columns to a validated table."""
    out = table.copy()
    out["n"] = pd.to_numeric(out["n"]).astype(float)  # NaN where the source prints no n
    # levels and absolute changes carry the outcome's unit; percents are unit-free
    in_outcome_unit = (~out["statistic"].map(vocab.scale).isin(["percent", "direction"])).to_numpy()
    factor = np.array(
        [
            vocab.unit_factor(o, u) if m else 1.0
            for o, u, m in zip(out["outcome"], out["unit"], in_outcome_unit, strict=True)
        ]
    )
    sd = np.array(
        [
            spread_to_sd(t, d, lo, hi, n)
            for t, d, lo, hi, n in zip(
                out["dispersion_type"], out["dispersion"], out["ci_lower"], out["ci_upper"], out["n"],
                strict=True,
            )
        ]
    )
    out["scale"] = out["statistic"].map(vocab.scale)  # level, percent, absolute or direction
    out["value_canonical"] = out["value"].to_numpy(float) * factor
    out["sd_canonical"] = sd * factor
    out["unit_canonical"] = [
        vocab.canonical_unit(o) if m else u for o, u, m in zip(out["outcome"], out["unit"], in_outcome_unit, strict=True)
    ]
    out["conversion_factor"] = factor
    weeks = out["time_unit"].map(vocab.time_units).to_numpy(float)
    out["time_weeks"] = out["time"].to_numpy(float) * weeks
    out["time_start_weeks"] = out["time_start"].to_numpy(float) * weeks
    out["mg_pct_requirement"] = [
        dose_as_percent_requirement(vocab, s, x, d, u)
        for s, x, d, u in zip(out["species"], out["sex"], out["mg_dose"], out["mg_dose_unit"], strict=True)
    ]
    for column in ("intervention_start", "intervention_stop"):
        value = pd.to_numeric(out[column], errors="coerce") if column in out else np.nan
        out[f"{column}_weeks"] = np.asarray(value, float) * weeks
    agents = out["intervention"] if "intervention" in out else pd.Series(None, index=out.index)
    out["intervention_class"] = agents.map(lambda a: vocab.interventions[a]["class"] if isinstance(a, str) else None)
    out["mg_intake_mg_day"] = [
        dose_as_mg_per_day(d, u) if s == "human" else math.nan
        for s, d, u in zip(out["species"], out["mg_dose"], out["mg_dose_unit"], strict=True)
    ]
    return out
