"""Evidence per mechanism link: counts of fittable, kept-only and analysed rows (synthetic rows)."""

import pandas as pd

from mgbone.analysis.evidence import NO_QUANTITY, evidence_by_link


def _rows():
    return pd.DataFrame([
        {"study_id": "A", "outcome": "serum_mg", "statistic": "mean", "species": "rat"},
        {"study_id": "A", "outcome": "serum_mg", "statistic": "change_from_baseline", "species": "rat"},
        {"study_id": "B", "outcome": "bmd_total_hip", "statistic": "pct_change_per_year", "species": "human"},
        {"study_id": "B", "outcome": "crp", "statistic": "mean", "species": "human"},
        {"study_id": "B", "outcome": "mg_balance", "statistic": "mean", "species": "human"},
    ])


def test_counts_follow_the_fittable_form_and_the_analysed_studies():
    table = evidence_by_link(_rows(), fitted_studies={"B"}).set_index("link")
    assert table.loc["mg_status", ["rows_fittable", "rows_kept_only", "rows_in_analyses"]].tolist() == [1, 1, 0]
    assert table.loc["bone_mass", ["rows_fittable", "rows_in_analyses", "species"]].tolist() == [1, 1, "human"]
    assert table.loc["inflammation", "studies"] == 1  # CRP now reads inflammation (an acute-phase loading)
    assert table.loc["osteoclast_activity", "studies"] == 0  # a link with no evidence is listed, not dropped
    # a balance is signed (it can be negative): no log ratio, so no model quantity
    assert table.loc[NO_QUANTITY, ["outcomes", "rows_fittable", "rows_kept_only"]].tolist() == ["mg_balance", 0, 1]


def test_every_row_is_counted_once():
    table = evidence_by_link(_rows())
    assert table["rows_fittable"].sum() + table["rows_kept_only"].sum() == len(_rows())
    assert table["rows_in_analyses"].isna().all()
