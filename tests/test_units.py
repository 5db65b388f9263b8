import math

import numpy as np
import pytest

from mgbone.data import load_vocabulary
from mgbone.data.units import Z95, dose_as_mg_per_day, dose_as_percent_requirement, spread_to_sd
from tests.conftest import ROOT

VOCAB = load_vocabulary(ROOT / "data" / "vocabulary.yaml")


@pytest.mark.parametrize(
    ("outcome", "unit", "molar_mass"),
    [("serum_mg", "mg/dL", 24.305), ("serum_ca", "mg/dL", 40.078), ("serum_ionized_ca", "mg/dL", 40.078)],
)
def test_mass_to_molar_factors_follow_molar_mass(outcome, unit, molar_mass):
    # 1 mg/dL = 10 mg/L = 10 / M mmol/L
    assert VOCAB.unit_factor(outcome, unit) == pytest.approx(10 / molar_mass, rel=1e-4)


def test_equivalent_units_are_half_a_millimole_for_divalent_ions():
    assert VOCAB.unit_factor("serum_mg", "mEq/L") == 0.5
    assert VOCAB.unit_factor("serum_ca", "mEq/L") == 0.5


def test_hormone_factors():
    assert VOCAB.unit_factor("pth", "pg/mL") == 1.0
    assert VOCAB.unit_factor("pth", "pmol/L") == pytest.approx(9.425)  # PTH(1-84) 9425 g/mol
    assert VOCAB.unit_factor("calcitriol", "pg/mL") == pytest.approx(1000 / 416.64, rel=1e-4)


def test_time_units_to_weeks():
    assert VOCAB.time_units["day"] * 7 == pytest.approx(1.0)
    assert VOCAB.time_units["year"] == pytest.approx(365.25 / 7)
    assert VOCAB.time_units["month"] * 12 == pytest.approx(VOCAB.time_units["year"])


def test_every_outcome_lists_its_canonical_unit_with_factor_one():
    for name, spec in VOCAB.outcomes.items():
        assert spec["units"][spec["canonical_unit"]] == 1.0, name


def test_spread_conversions():
    assert spread_to_sd("SD", 2.0, None, None, 9) == 2.0
    assert spread_to_sd("SE", 2.0, None, None, 9) == pytest.approx(6.0)
    # a 95% CI of the mean 10 +- 1.96 with n = 4 has SE 1, SD 2
    assert spread_to_sd("CI95", None, 10 - Z95, 10 + Z95, 4) == pytest.approx(2.0)
    assert math.isnan(spread_to_sd("none", None, None, None, 5))


def test_doses():
    assert dose_as_percent_requirement(VOCAB, "rat", "F", 20, "mg/kg diet") == pytest.approx(4.0)
    assert dose_as_percent_requirement(VOCAB, "human", "F", 160, "mg/day") == pytest.approx(50.0)
    assert dose_as_percent_requirement(VOCAB, "human", "M", 420, "mg/day") == pytest.approx(100.0)
    assert dose_as_mg_per_day(0.5, "mmol/day") == pytest.approx(12.1525)
    assert np.isnan(dose_as_percent_requirement(VOCAB, "rat", "F", None, None))


def test_every_statistic_declares_its_scale():
    assert {VOCAB.scale(name) for name in VOCAB.statistics} == {"level", "percent", "absolute", "direction"}
    assert VOCAB.accepts("bmd_total_hip", "direction_vs_control", "direction")
    assert not VOCAB.accepts("bmd_total_hip", "direction_vs_control", "percent")
    assert VOCAB.accepts("bmd_total_hip", "absolute_change_per_year", "mg/cm2")
    assert not VOCAB.accepts("bmd_total_hip", "absolute_change_per_year", "percent")
    assert VOCAB.accepts("bmd_total_hip", "pct_change_per_year", "percent")


def test_vocabulary_without_scale_names_the_statistic(tmp_path):
    text = (ROOT / "data" / "vocabulary.yaml").read_text()
    broken = tmp_path / "vocabulary.yaml"
    broken.write_text(text.replace("change_from_baseline: {scale: absolute,", "change_from_baseline: {"))
    with pytest.raises(ValueError, match="'change_from_baseline' needs a scale"):
        load_vocabulary(broken)


def test_every_outcome_has_plausible_bounds_with_a_reason():
    for name, spec in VOCAB.outcomes.items():
        bounds = spec.get("plausible")
        assert bounds is not None, name
        assert float(bounds["min"]) < float(bounds["max"]) and len(bounds["reason"]) > 10, name


def test_plausible_bounds_without_a_reason_are_refused(tmp_path):
    text = (ROOT / "data" / "vocabulary.yaml").read_text()
    broken = tmp_path / "vocabulary.yaml"
    start = text.index("plausible:", text.index("serum_mg:"))
    end = text.index("\n", start)
    broken.write_text(text[:start] + "plausible: {min: 0.1, max: 5}" + text[end:])
    with pytest.raises(ValueError, match="'serum_mg': `plausible` needs min < max and a reason"):
        load_vocabulary(broken)
