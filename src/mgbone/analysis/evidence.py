"""How much of the registered evidence speaks to each link of the mechanism."""

import pandas as pd

from mgbone.models.observations import OUTCOME_QUANTITY, fittable_rows

NO_QUANTITY = "(no model quantity)"


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
