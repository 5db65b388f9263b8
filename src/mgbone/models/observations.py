"""Turn harmonised study rows into the contrasts the models are fitted to.

Studies report numbers in different units, assays and baselines; a log ratio against the study's
own reference (its control group, or the same group at baseline) removes all three, so every
observation is y = log(target / reference) of one model quantity, with the standard error of
that log ratio where the study reports a spread (delta method: se^2 = sum of CV^2 / n).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

WEEKS_PER_YEAR = 365.25 / 7
# Statistics that become log-ratio contrasts; absolute changes and differences (no baseline level to
# scale them by) are kept as unfitted rows.
FITTED_STATISTICS = ("mean", "pct_change_from_baseline", "pct_difference_vs_control", "pct_change_per_year")

# Which model quantity each outcome measures (outcomes not listed are kept but not fitted).
OUTCOME_QUANTITY = {
    "serum_mg": "mg_status",
    "serum_ionized_mg": "mg_status",
    "rbc_mg": "mg_status",
    "tnf_alpha": "inflammation",
    "il1": "inflammation",
    "il6": "inflammation",
    "substance_p": "inflammation",
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
# Life stages whose estrogen is falling (0 -> 1 deficit from time 0) or already low at time 0.
UNKNOWN_INTAKE_FRACTION = 1e6
ESTROGEN_FALLING = {"perimenopausal", "menopause_transition", "ovariectomized"}
ESTROGEN_LOW = {"postmenopausal"}


@dataclass
class ObservationSet:
    """Contrasts y = q(target group, t) - q(reference group, t_ref) on the log scale."""

    groups: pd.DataFrame  # one row per (study, group): species, mg_fraction, estrogen start/target
    contrasts: pd.DataFrame  # one row per fitted number, with provenance
    unfitted: pd.DataFrame  # rows of the dataset no model quantity covers

    @property
    def n(self) -> int:
        return len(self.contrasts)


def _group_table(dataset: pd.DataFrame, reference_groups: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["study_id", "group", "species", "life_stage", "mg_pct_requirement", "menopause_at_weeks"]
    parts = [dataset[columns]]
    if reference_groups is not None and len(reference_groups):
        shift = dataset.groupby("study_id")["menopause_at_weeks"].first()
        extra = reference_groups.assign(menopause_at_weeks=reference_groups["study_id"].map(shift))
        parts.append(extra[columns])
    first = pd.concat(parts).groupby(["study_id", "group"], sort=True).first().reset_index()
    frac = first["mg_pct_requirement"].astype(float) / 100.0
    groups = pd.DataFrame(
        {
            "study_id": first["study_id"],
            "group": first["group"],
            "species": first["species"],
            "life_stage": first["life_stage"],
            # unknown intake (natural-history cohorts) is taken as fully adequate: no deficit at all
            "mg_fraction": frac.fillna(UNKNOWN_INTAKE_FRACTION),
            "mg_fraction_assumed": frac.isna(),
            "estrogen_deficit_start": first["life_stage"].isin(ESTROGEN_LOW).astype(float),
            # a cohort followed through its menopause loses estrogen from then on, whatever its stage at time 0
            "estrogen_deficit_target": (first["life_stage"].isin(ESTROGEN_LOW | ESTROGEN_FALLING)
                                        | (first["menopause_at_weeks"].fillna(0) > 0)).astype(float),
            "menopause_at_weeks": first["menopause_at_weeks"].astype(float).fillna(0.0),
        }
    )
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


def fittable_rows(dataset: pd.DataFrame) -> pd.Series:
    """Rows of a form the models fit: an outcome that measures a model quantity, as a level or a percent."""
    return dataset["outcome"].isin(list(OUTCOME_QUANTITY)) & dataset["statistic"].isin(FITTED_STATISTICS)


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

    def add(row, reference_group, t, t_ref, y, se, kind):
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
        y, se, t = np.log1p(row["value"] / 100.0), _percent_se(row), row["time_weeks"]
        if row["statistic"] == "pct_difference_vs_control":
            control = controls.get(row["study_id"])
            if control is None or control == row["group"]:
                continue
            add(row, control, t, t, y, se, "vs_control")
        elif row["statistic"] == "pct_change_from_baseline":
            add(row, row["group"], t, 0.0, y, se, "vs_baseline")
        elif row["statistic"] == "pct_change_per_year":
            start = row["time_start_weeks"] if np.isfinite(row["time_start_weeks"]) else 0.0
            if t <= start:
                continue
            # an annualised change over [start, t] compounds to (1 + p)^(years) over the interval
            scale = (t - start) / WEEKS_PER_YEAR
            add(row, row["group"], t, start, y * scale, se * scale if np.isfinite(se) else np.nan, "per_year")

    contrasts = pd.DataFrame(rows)
    if contrasts.empty:
        raise ValueError("no fittable observations in the selected studies")
    contrasts = contrasts.sort_values(["study_id", "outcome", "target_group", "time_weeks"]).reset_index(drop=True)
    contrasts["se"] = contrasts["se"].astype(float)
    return ObservationSet(groups=groups, contrasts=contrasts, unfitted=unfitted)
