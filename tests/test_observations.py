"""Contrasts: log ratios, delta-method standard errors, baselines and annualised rates."""

import numpy as np
import pandas as pd
import pytest

from mgbone.constants import WEEKS_PER_YEAR
from mgbone.data import load_selection
from mgbone.models.observations import build_observations
from tests.conftest import HEADER


def _human_natural_history(synthetic, rows: list[str]) -> pd.DataFrame:
    """The synthetic study re-registered as a human natural-history study with these rows, loaded."""
    synthetic.registry["studies"]["Synthetic2000"].update(species="human", design="natural_history")
    synthetic.write_rows([HEADER, *rows])
    dataset, _ = load_selection(synthetic.root, ["Synthetic2000"])
    return dataset


def test_vs_control_log_ratio_and_delta_method(synthetic):
    dataset, prov = load_selection(synthetic.root, ["Synthetic2000"])
    obs = build_observations(dataset, reference_groups=prov["reference_groups"]).contrasts.set_index("outcome")
    mg = obs.loc["serum_mg"]
    assert mg["y"] == pytest.approx(np.log(0.4 / 1.9))
    assert mg["se"] == pytest.approx(np.sqrt((0.2 / 0.4) ** 2 / 6 + (0.2 / 1.9) ** 2 / 6))
    pth = obs.loc["pth"]  # the treatment spread was an SE: SD = 8 * sqrt(6)
    assert pth["se"] == pytest.approx(np.sqrt((8 * np.sqrt(6) / 36) ** 2 / 6 + (30 / 109) ** 2 / 6))
    bone = obs.loc["trabecular_bone_volume"]
    assert bone["y"] == pytest.approx(np.log(0.6))
    sd = 20 / (2 * 1.959963984540054) * np.sqrt(6)
    assert bone["se"] == pytest.approx(sd / np.sqrt(6) / 100 / 0.6)
    assert set(obs["kind"]) == {"vs_control"}


def test_baseline_and_annualised_contrasts(synthetic):
    rows = [
        "Synthetic2000,diet,single,human,F,adult,0.5,mmol/day,0,week,serum_mg,mean,0.8,mmol/L,0.01,SE,,,26,abstract,,synthetic",
        "Synthetic2000,diet,single,human,F,adult,0.5,mmol/day,3,week,serum_mg,mean,0.6,mmol/L,0.02,SE,,,26,abstract,,synthetic",
        "Synthetic2000,diet,single,human,F,perimenopausal,,,27,month,bmd_lumbar_spine,pct_change_per_year,-2,percent,,none,,,40,abstract,,synthetic",
    ]
    dataset = _human_natural_history(synthetic, rows)
    obs = build_observations(dataset).contrasts.set_index("outcome")
    assert obs.loc["serum_mg", "kind"] == "vs_baseline"
    assert obs.loc["serum_mg", "y"] == pytest.approx(np.log(0.6 / 0.8))
    rate = obs.loc["bmd_lumbar_spine"]
    years = 27 * (365.25 / 12) / 7 / WEEKS_PER_YEAR
    assert rate["y"] == pytest.approx(np.log(0.98) * years)
    assert rate["reference_time_weeks"] == 0.0
    assert np.isnan(rate["se"])


def test_absolute_changes_are_converted_but_not_fitted(synthetic):
    rows = [
        "Synthetic2000,all,single,human,F,postmenopausal,,,4,year,bmd_total_hip,absolute_change_per_year,-10.4,mg/cm2,,CI95,-12.4,-8.4,500,abstract,,synthetic",
        "Synthetic2000,all,single,human,F,postmenopausal,,,4,year,bmd_lumbar_spine,pct_change_per_year,-1,percent,,none,,,500,abstract,,synthetic",
        "Synthetic2000,all,single,human,F,postmenopausal,,,4,week,pth,change_from_baseline,-0.88,pmol/L,1.65,SD,,,23,abstract,,synthetic",
    ]
    dataset = _human_natural_history(synthetic, rows)
    hip = dataset.set_index("outcome").loc["bmd_total_hip"]
    assert hip["value_canonical"] == pytest.approx(-0.0104)  # mg/cm2 -> g/cm2, sign kept
    assert hip["unit_canonical"] == "g/cm2"
    pth = dataset.set_index("outcome").loc["pth"]
    assert pth["value_canonical"] == pytest.approx(-0.88 * 9.425)
    assert pth["sd_canonical"] == pytest.approx(1.65 * 9.425)
    obs = build_observations(dataset)
    assert list(obs.contrasts["outcome"]) == ["bmd_lumbar_spine"]
    assert sorted(obs.unfitted["statistic"]) == ["absolute_change_per_year", "change_from_baseline"]


def test_real_registry_builds_contrasts_for_every_default_study():
    import yaml

    from tests.conftest import ROOT

    config = yaml.safe_load((ROOT / "config" / "extended.yaml").read_text())
    studies = config["analyses"]["m1_core"]["studies"]  # the first default selection: each has a fittable row
    dataset, prov = load_selection(ROOT / "data", studies)
    obs = build_observations(dataset, reference_groups=prov["reference_groups"])
    assert set(obs.contrasts["study_id"]) == set(studies)
    assert np.isfinite(obs.contrasts["y"]).all()
    assert (obs.contrasts["se"].dropna() > 0).all()
    assert isinstance(obs.unfitted, pd.DataFrame)


def test_an_absolute_change_becomes_relative_through_its_cited_baseline_level():
    """SYNTHETIC rows: a spine loss of 0.02 g/cm2 per year on a cited baseline of 1.0 (sd 0.1, another sample) is
    log(0.98) per year, with the level's uncertainty in its SE; without a level the row stays unfitted."""
    from mgbone.models.observations import fittable_rows, relative_change

    row = {"value_canonical": -0.02, "sd_canonical": np.nan, "n": 100.0, "baseline_level": 1.0,
           "baseline_level_se": 0.1}
    y, se = relative_change(row)
    assert y == pytest.approx(np.log(0.98))
    assert se == pytest.approx(0.02 * 0.1 / 0.98)  # only the level's uncertainty: the change printed no spread
    y2, se2 = relative_change({**row, "sd_canonical": 0.05})
    assert y2 == y and se2 == pytest.approx(np.hypot(0.05 / 10, 0.002) / 0.98)
    table = pd.DataFrame({"outcome": ["bmd_lumbar_spine"] * 2, "statistic": ["absolute_change_per_year"] * 2,
                          "baseline_level": [1.0, np.nan]})
    assert fittable_rows(table).tolist() == [True, False]
