"""How much of the registered evidence speaks to each link of the mechanism."""

import numpy as np
import pandas as pd

from mgbone.models.observations import OUTCOME_QUANTITY, fittable_rows

NO_QUANTITY = "(no model quantity)"
# why an outcome has no model quantity, where physiology does not allow one
NO_QUANTITY_REASONS = {
    "mg_balance": "a balance is signed (intake minus losses can be negative): no log ratio to fit",
    "ca_balance": "a balance is signed (intake minus losses can be negative): no log ratio to fit",
    "bmd_unspecified_site": "the BMD site is not printed, so no site loading can be chosen",
    "mg_intake": "an intake is an exposure, not an outcome of the models",
    "urine_ca_creatinine": "no calcium-excretion link in the models",
    "nitric_oxide": "no NO measurement model yet (the NO route acts through its gain)",
}


def evidence_by_link(dataset: pd.DataFrame, fitted_studies: set[str] | None = None) -> pd.DataFrame:
    """Rows per model quantity: of a fittable form, kept only, and in a fitted analysis; studies and species.

    `fitted_studies`: studies some analysis of the run fits (None: not counted).
    """
    data = dataset.assign(
        link=dataset["outcome"].map(OUTCOME_QUANTITY).fillna(NO_QUANTITY),
        fittable=fittable_rows(dataset),
    )
    data["in_analysis"] = data["fittable"] & data["study_id"].isin(fitted_studies or set())
    links = list(dict.fromkeys(OUTCOME_QUANTITY.values())) + [NO_QUANTITY]
    rows = []
    for link in links:
        part = data[data["link"] == link]
        rows.append({
            "link": link,
            "outcomes": ", ".join(sorted(part["outcome"].unique())) or "—",
            "rows_fittable": int(part["fittable"].sum()),
            "rows_kept_only": int((~part["fittable"]).sum()),
            "rows_in_analyses": int(part["in_analysis"].sum()) if fitted_studies is not None else None,
            "studies": int(part["study_id"].nunique()),
            "species": ", ".join(sorted(part["species"].unique())) or "—",
        })
    return pd.DataFrame(rows)


def fitted_studies(obs) -> list[str]:
    """Studies with at least one contrast or direction in a model's likelihood."""
    tables = [obs.contrasts] + ([obs.directions] if len(obs.directions) else [])
    return sorted(set().union(*(set(t["study_id"]) for t in tables)))


def reasons_not_fitted(dataset: pd.DataFrame, model, fitted: list[str]) -> dict[str, str]:
    """Why each study of `dataset` is in no likelihood of `model`: the reasons its rows give, in words (the
    harmonised dataset's `scale` column is the vocabulary's scale of each row's statistic)."""
    out = {}
    for study, rows in dataset[~dataset["study_id"].isin(fitted)].groupby("study_id"):
        reasons = []
        for row in rows.itertuples():
            quantity = OUTCOME_QUANTITY.get(row.outcome)
            if quantity is None:
                reasons.append(f"{row.outcome}: " + NO_QUANTITY_REASONS.get(row.outcome, "no model quantity"))
            elif row.scale == "absolute" and not np.isfinite(getattr(row, "baseline_level", np.nan)):
                reasons.append("absolute changes only: no cited baseline level to scale them (registry "
                               "`baseline_levels`)")
            elif quantity not in model.quantities:
                reasons.append(f"{model.name} has no {quantity}")
            elif row.scale == "direction":
                reasons.append("a direction without a reference group or a spread in the selection to scale it")
            else:
                reasons.append("no contrast: a single group at a single time, or its control or baseline row is "
                               "not printed" if model.name != "M0" or not isinstance(row.intervention_class, str)
                               else "M0 gives drugs an effect on bone mass only")
        out[study] = "; ".join(dict.fromkeys(reasons))
    return out
