"""Turn harmonised study rows into the contrasts the models are fitted to.

Studies report numbers in different units, assays and baselines; a log ratio against the study's
own reference (its control group, or the same group at baseline) removes all three, so every
observation is y = log(target / reference) of one model quantity, with the standard error of
that log ratio where the study reports a spread (delta method: se^2 = sum of CV^2 / n).
"""

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm

from mgbone.constants import WEEKS_PER_YEAR
from mgbone.data.intake import NODE_COLUMNS

# Statistics that become log-ratio contrasts (absolute changes and differences too, where a baseline level is cited;
# without one they are kept as unfitted rows).
FITTED_STATISTICS = ("mean", "pct_change_from_baseline", "pct_difference_vs_control", "pct_change_per_year",
                     "direction_vs_control", "direction_vs_baseline")
DIRECTION_STATISTICS = ("direction_vs_control", "direction_vs_baseline")
# Absolute changes and differences: fitted where the registry cites a baseline level to scale them (relative_change)
ABSOLUTE_STATISTICS = ("change_from_baseline", "difference_vs_control", "absolute_change_per_year")

# Which model quantity each outcome measures (outcomes not listed are kept but not fitted).
OUTCOME_QUANTITY = {
    "serum_mg": "mg_status",
    "serum_ionized_mg": "mg_status",
    "rbc_mg": "mg_status",
    "bone_mg": "mg_status",  # the skeleton is the Mg reservoir: bone Mg follows Mg status (own loading)
    "urine_mg_creatinine": "mg_status",  # the kidney conserves Mg in depletion: urinary Mg falls with status
    "mg_retention": "mg_status",  # a larger retained share of an iv load means a deficit (negative loading)
    "tnf_alpha": "inflammation",
    "il1": "inflammation",
    "il6": "inflammation",
    "substance_p": "inflammation",
    "crp": "inflammation",  # acute-phase protein made in response to IL-6 (own loading)
    "osteoclast_number": "osteoclast_activity",
    "ctx": "osteoclast_activity",
    "pyridinoline": "osteoclast_activity",
    "deoxypyridinoline": "osteoclast_activity",
    "ictp": "osteoclast_activity",
    "ntx_urine": "osteoclast_activity",
    "osteoblast_number": "osteoblast_activity",
    "osteocalcin": "osteoblast_activity",
    "p1np": "osteoblast_activity",
    "bone_alkaline_phosphatase": "osteoblast_activity",
    "trabecular_bone_volume": "bone_mass",
    "bone_ash": "bone_mass",
    "bmd_lumbar_spine": "bone_mass",
    "bmd_total_hip": "bone_mass",
    "bmd_femoral_neck": "bone_mass",
    "bmd_whole_body": "bone_mass",
    "bmd_femur": "bone_mass",
    "bmd_forearm": "bone_mass",
    "pth": "pth",
    "calcitriol": "calcitriol",
    "serum_ca": "calcium",
    "serum_ionized_ca": "calcium",
}
# Outcomes whose log moves against their quantity (loading sign fixed at -1; size learned as for the others).
NEGATIVE_OUTCOMES = {"mg_retention"}
# The outcome that defines each quantity's scale (loading fixed at 1); every other outcome of a quantity has
# a learned loading: another skeletal site (trabecular vs cortical turnover), another marker of the same cell.
REFERENCE_OUTCOME = {
    "mg_status": "serum_mg",
    "inflammation": "tnf_alpha",
    "osteoclast_activity": "ctx",
    "osteoblast_activity": "p1np",
    "bone_mass": "bmd_lumbar_spine",
    "pth": "pth",
    "calcitriol": "calcitriol",
    "calcium": "serum_ca",
}
# Results printed only as a direction: significance level when the paper says "not significant" or gives no p.
DEFAULT_ALPHA = 0.05
# Life stages whose estrogen is falling (0 -> 1 deficit from time 0) or already low at time 0.
UNKNOWN_INTAKE_FRACTION = 1e6
ESTROGEN_FALLING = {"perimenopausal", "menopause_transition", "ovariectomized"}
ESTROGEN_LOW = {"postmenopausal"}


@dataclass
class ObservationSet:
    """Contrasts y = q(target group, t) - q(reference group, t_ref) on the log scale."""

    groups: pd.DataFrame  # one row per (study, group): species, mg_fraction, estrogen start/target, treatment
    contrasts: pd.DataFrame  # one row per fitted number, with provenance
    unfitted: pd.DataFrame  # rows of the dataset no model quantity covers
    # results printed only as a direction: the same columns, `y` the printed sign (1, -1, 0) and `threshold` the
    # |log ratio| its significance implies (z * se); fitted through an interval-censored likelihood
    directions: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def n(self) -> int:
        return len(self.contrasts)


TREATMENT_COLUMNS = ["intervention", "intervention_dose", "intervention_class", "intervention_start_weeks",
                     "intervention_stop_weeks"]


def _with_treatment_columns(table: pd.DataFrame) -> pd.DataFrame:
    missing = {c: None for c in TREATMENT_COLUMNS if c not in table.columns}
    return table.assign(**missing) if missing else table


def _group_table(dataset: pd.DataFrame, reference_groups: pd.DataFrame | None) -> pd.DataFrame:
    nodes = [c for c in NODE_COLUMNS if c in dataset.columns]  # (absent in tables written before issue 14)
    columns = ["study_id", "group", "species", "life_stage", "mg_pct_requirement", "menopause_at_weeks",
               *TREATMENT_COLUMNS, *nodes]
    parts = [_with_treatment_columns(dataset)[columns]]
    if reference_groups is not None and len(reference_groups):
        shift = dataset.groupby("study_id")["menopause_at_weeks"].first()
        extra = _with_treatment_columns(reference_groups.assign(menopause_at_weeks=reference_groups["study_id"].map(shift)))
        parts.append(extra.reindex(columns=columns))
    first = pd.concat(parts).groupby(["study_id", "group"], sort=True, dropna=False).first().reset_index()
    treated = first["intervention_class"].notna() & (first["intervention_class"] != "none")
    dose = first["intervention_dose"].fillna("").astype(str).str.strip()
    frac = first["mg_pct_requirement"].astype(float) / 100.0
    # a habitual intake modelled from a population distribution (mgbone.data.intake): exposure at each node
    node_values = first.reindex(columns=NODE_COLUMNS).to_numpy(float)
    modelled = pd.Series(np.isfinite(node_values).all(axis=1), index=first.index)
    frac = frac.where(~modelled, node_values.mean(axis=1))
    groups = pd.DataFrame(
        {
            "study_id": first["study_id"],
            "group": first["group"],
            "species": first["species"],
            "life_stage": first["life_stage"],
            # unknown intake (natural-history cohorts) is taken as fully adequate: no deficit at all
            "mg_fraction": frac.fillna(UNKNOWN_INTAKE_FRACTION),
            "mg_fraction_assumed": frac.isna() & ~modelled,
            "estrogen_deficit_start": first["life_stage"].isin(ESTROGEN_LOW).astype(float),
            # a cohort followed through its menopause loses estrogen from then on, whatever its stage at time 0
            "estrogen_deficit_target": (first["life_stage"].isin(ESTROGEN_LOW | ESTROGEN_FALLING)
                                        | (first["menopause_at_weeks"].fillna(0) > 0)).astype(float),
            "menopause_at_weeks": first["menopause_at_weeks"].astype(float).fillna(0.0),
            # a drug or hormone arm: its class (the mechanism), the arm (agent and dose, pooled within the class)
            # and when treatment stopped (inf: still on at every reported time)
            "treatment_class": first["intervention_class"].where(treated, None),
            "treatment_arm": (first["intervention"].astype(str) + np.where(dose != "", " " + dose, "")).where(treated, None),
            "treatment_start_weeks": first["intervention_start_weeks"].astype(float).where(treated).fillna(0.0),
            "treatment_stop_weeks": first["intervention_stop_weeks"].astype(float).where(treated).fillna(np.inf),
        }
    )
    # the deficit is averaged over these exposures (mgbone.models.mechanistic.population_deficit): the habitual-intake
    # nodes where modelled, the one known (or assumed) exposure repeated elsewhere
    exposure = np.where(np.isfinite(node_values), node_values, groups["mg_fraction"].to_numpy(float)[:, None])
    for k, column in enumerate(NODE_COLUMNS):
        groups[column] = exposure[:, k]
    # a group whose diet is its habitual one starts at that diet's steady state: what changes at time 0 is only
    # its supplement (this share of the requirement; 0 for a placebo arm)
    groups["habitual_start"] = modelled.to_numpy()
    groups["supplement_fraction"] = np.where(modelled, first["mg_pct_requirement"].astype(float).fillna(0.0) / 100.0,
                                             0.0)
    groups["group_index"] = np.arange(len(groups))
    return groups


def _log_ratio_se(v_t, sd_t, n_t, v_r, sd_r, n_r) -> float:
    se2 = (sd_t / v_t) ** 2 / n_t + (sd_r / v_r) ** 2 / n_r
    return float(np.sqrt(se2)) if np.isfinite(se2) else np.nan


def _percent_se(row) -> float:
    """SE of log(1 + p/100) from a reported SD/SE/CI of a percent (SD of individuals -> SE of mean)."""
    sd = row["sd_canonical"]
    if not np.isfinite(sd):
        return np.nan
    return float(sd / np.sqrt(row["n"]) / 100.0 / (1.0 + row["value"] / 100.0))


def outcome_cv(means: pd.DataFrame) -> dict[str, float]:
    """Coefficient of variation of individual values per outcome (then per quantity, then over all), the median
    over the rows of this selection that print a spread: what scales a result printed only as a direction."""
    spread = means[np.isfinite(means["sd_canonical"]) & (means["value_canonical"] > 0)]
    cv = (spread["sd_canonical"] / spread["value_canonical"]).rename("cv")
    frame = spread.assign(cv=cv)
    out = {}
    if len(frame):
        out["all"] = float(frame["cv"].median())
        out.update(frame.groupby("quantity")["cv"].median().to_dict())
        out.update(frame.groupby("outcome")["cv"].median().to_dict())
    return out


def significance_threshold(p_value, note) -> float:
    """|z| a printed significance implies: the printed p (or threshold; NS or none: 0.05), two-sided unless the
    row's note says one-tailed. A bound, not a point: 'p < 0.05' only says the result was at least this far out."""
    alpha = DEFAULT_ALPHA
    if isinstance(p_value, str) and p_value.strip().upper() != "NS":
        number = re.search(r"(\d*\.?\d+(?:[eE]-?\d+)?)", p_value)
        if number and not p_value.strip().startswith(">"):
            alpha = float(number.group(1))
    one_tailed = isinstance(note, str) and re.search(r"one[- ](tailed|sided)", note, re.I) is not None
    return float(norm.ppf(1.0 - alpha / (1 if one_tailed else 2)))


def fittable_rows(dataset: pd.DataFrame) -> pd.Series:
    """Rows of a form the models fit: an outcome that measures a model quantity, as a level, a percent or a direction,
    or as an absolute change with a cited baseline level to scale it (`data.loading.with_baseline_levels`)."""
    scaled = dataset["statistic"].isin(ABSOLUTE_STATISTICS) & dataset.get("baseline_level", pd.Series(np.nan,
                                                                                                     dataset.index)).notna()
    return dataset["outcome"].isin(list(OUTCOME_QUANTITY)) & (dataset["statistic"].isin(FITTED_STATISTICS) | scaled)


def relative_change(row) -> tuple[float, float]:
    """An absolute change d in units of a cited baseline level B (uncertainty s_B) as log(1 + d/B), with its SE by the
    delta method: d's own SE (where printed) and B's uncertainty, var = ((se_d / B)^2 + (d s_B / B^2)^2) / (1 + d/B)^2."""
    d, level, level_se = row["value_canonical"], row["baseline_level"], row["baseline_level_se"]
    sd = row["sd_canonical"]
    se_d = sd / np.sqrt(row["n"]) if np.isfinite(sd) else 0.0
    ratio = d / level
    se = np.sqrt((se_d / level) ** 2 + (d * level_se / level**2) ** 2) / (1.0 + ratio)
    return float(np.log1p(ratio)), float(se)


def build_observations(dataset: pd.DataFrame, cohort_exposure_years: float = 10.0,
                       reference_groups: pd.DataFrame | None = None) -> ObservationSet:
    """Contrasts from a harmonised dataset and the registry's reference groups (see mgbone.data.load_selection)."""
    data = dataset.copy()
    data["quantity"] = data["outcome"].map(OUTCOME_QUANTITY)
    fitted = fittable_rows(data)
    unfitted = data[~fitted].copy()
    data = data[fitted]
    groups = _group_table(dataset, reference_groups)
    index = {(s, g): i for s, g, i in zip(groups["study_id"], groups["group"], groups["group_index"], strict=True)}
    controls = dataset[dataset["role"] == "control"].groupby("study_id")["group"].first().to_dict()
    if reference_groups is not None:
        for study, group in zip(reference_groups["study_id"], reference_groups["group"], strict=True):
            controls.setdefault(study, group)
    cohort_weeks = cohort_exposure_years * WEEKS_PER_YEAR
    rows = []

    def add(row, reference_group, t, t_ref, y, se, kind, threshold=np.nan):
        is_cohort = row["design"] == "human_cohort" and t == 0 and t_ref == 0
        if is_cohort:  # cross-sectional contrast: both groups exposed for the assumed duration
            t = t_ref = cohort_weeks
        rows.append(
            {
                "study_id": row["study_id"],
                "outcome": row["outcome"],
                "quantity": row["quantity"],
                "statistic": row["statistic"],
                "kind": kind,
                "target_group": index[(row["study_id"], row["group"])],
                "reference_group": index[(row["study_id"], reference_group)],
                "time_weeks": t,
                "reference_time_weeks": t_ref,
                "y": y,
                "se": se,
                "threshold": threshold,  # direction rows: |log ratio| beyond which the result was significant
                "source_rows": f"{row['source_file']}:{row['source_row']}",
            }
        )

    means = data[data["statistic"] == "mean"]
    by_key = {(r.study_id, r.group, r.outcome, r.time_weeks): r for r in means.itertuples()}
    for row in means.to_dict("records"):
        t = row["time_weeks"]
        if row["role"] == "treatment":
            ref = by_key.get((row["study_id"], controls.get(row["study_id"]), row["outcome"], t))
            if ref is None:
                continue
            se = _log_ratio_se(row["value_canonical"], row["sd_canonical"], row["n"],
                               ref.value_canonical, ref.sd_canonical, ref.n)
            add(row, ref.group, t, t, np.log(row["value_canonical"] / ref.value_canonical), se, "vs_control")
        elif t > 0:
            base = by_key.get((row["study_id"], row["group"], row["outcome"], 0.0))
            if base is None:
                continue
            se = _log_ratio_se(row["value_canonical"], row["sd_canonical"], row["n"],
                               base.value_canonical, base.sd_canonical, base.n)
            add(row, row["group"], t, 0.0, np.log(row["value_canonical"] / base.value_canonical), se, "vs_baseline")

    for row in data[data["statistic"] != "mean"].to_dict("records"):
        if row["statistic"] in ABSOLUTE_STATISTICS:
            (y, se), t = relative_change(row), row["time_weeks"]
        else:
            y, se, t = np.log1p(row["value"] / 100.0), _percent_se(row), row["time_weeks"]
        if row["statistic"] in ("pct_difference_vs_control", "difference_vs_control"):
            control = controls.get(row["study_id"])
            if control is None or control == row["group"]:
                continue
            add(row, control, t, t, y, se, "vs_control")
        elif row["statistic"] in ("pct_change_from_baseline", "change_from_baseline"):
            add(row, row["group"], t, 0.0, y, se, "vs_baseline")
        elif row["statistic"] in ("pct_change_per_year", "absolute_change_per_year"):
            start = row["time_start_weeks"] if np.isfinite(row["time_start_weeks"]) else 0.0
            if t <= start:
                continue
            # an annualised change over [start, t] compounds to (1 + p)^(years) over the interval
            scale = (t - start) / WEEKS_PER_YEAR
            add(row, row["group"], t, start, y * scale, se * scale if np.isfinite(se) else np.nan, "per_year")

    directions = data[data["statistic"].isin(DIRECTION_STATISTICS)]
    if len(directions):
        cvs = outcome_cv(means)
        group_n = data.groupby(["study_id", "group", "outcome"])["n"].max().to_dict()
    for row in directions.to_dict("records"):
        cv = cvs.get(row["outcome"], cvs.get(row["quantity"], cvs.get("all")))
        if cv is None:
            continue  # no study in this selection prints a spread to scale a direction by
        t = row["time_weeks"]
        if row["statistic"] == "direction_vs_control":
            reference, t_ref = controls.get(row["study_id"]), t
            if reference is None or reference == row["group"]:
                continue
            n_ref = group_n.get((row["study_id"], reference, row["outcome"]), row["n"])
        else:
            reference, t_ref, n_ref = row["group"], 0.0, row["n"]
        se = cv * np.sqrt(1.0 / row["n"] + 1.0 / n_ref)
        # a null says |z| < z(0.05) whatever p is printed (a printed p of a null is a point, not a bound we
        # can use without its sign); a significant result says |z| > z(p) in the printed direction
        null = float(row["value"]) == 0.0
        z = significance_threshold(None if null else row.get("p_value"), row.get("note"))
        add(row, reference, t, t_ref, float(row["value"]), se, "direction", threshold=z * se)

    contrasts = pd.DataFrame(rows)
    if contrasts.empty:
        raise ValueError("no fittable observations in the selected studies")
    contrasts = contrasts.sort_values(["study_id", "outcome", "target_group", "time_weeks"]).reset_index(drop=True)
    contrasts["se"] = contrasts["se"].astype(float)
    is_direction = contrasts["kind"] == "direction"
    directions = contrasts[is_direction].reset_index(drop=True)
    points = contrasts[~is_direction].drop(columns=["threshold"]).reset_index(drop=True)
    if points.empty:
        raise ValueError("no fittable observations in the selected studies (only results printed as a direction)")
    return ObservationSet(groups=groups, contrasts=points, unfitted=unfitted, directions=directions)
