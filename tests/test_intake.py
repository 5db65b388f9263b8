"""Habitual Mg intake for groups whose diet is not printed (supplement trials): the fitted distribution, its nodes,
and what the models take from them (SYNTHETIC groups; the survey percentiles are the IOM's, data/reference)."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import lognorm

from mgbone.data import load_selection
from mgbone.data.errors import DataValidationError
from mgbone.data.intake import HABITUAL_INTAKE_NODES, NODE_COLUMNS, intake_nodes, lognormal_from_percentiles
from mgbone.models.mechanistic import mg_deficit, population_deficit
from mgbone.models.observations import build_observations
from tests.conftest import ROOT


def test_the_lognormal_goes_through_the_printed_median_and_splits_the_tails():
    mu, sigma = lognormal_from_percentiles(134.0, 222.0, 342.0)  # IOM 1997: CSFII 1994 women aged 9 and older
    dist = lognorm(s=sigma, scale=np.exp(mu))
    assert dist.median() == pytest.approx(222.0)
    assert dist.ppf(0.95) == pytest.approx(342.0, rel=0.1) and dist.ppf(0.05) == pytest.approx(134.0, rel=0.1)
    assert dist.mean() == pytest.approx(228.0, rel=0.03)  # the printed mean, which the fit did not use


def test_a_mixed_group_takes_half_its_nodes_from_each_sex():
    table = pd.read_csv(ROOT / "data/reference/mg_intake.csv")
    women, men = intake_nodes(table, "IOM1997_DRI_Mg", "F"), intake_nodes(table, "IOM1997_DRI_Mg", "M")
    mixed = intake_nodes(table, "IOM1997_DRI_Mg", "mixed")
    assert len(women) == len(mixed) == HABITUAL_INTAKE_NODES and np.all(np.diff(women) > 0)
    assert np.median(women) < np.median(mixed) < np.median(men)
    assert intake_nodes(table, "NoSuchSurvey", "F") is None


def test_a_supplement_trial_is_the_population_diet_plus_the_dose():
    dataset, provenance = load_selection(ROOT / "data", ["GuerreroRomero2015"])
    groups = build_observations(dataset, reference_groups=provenance["reference_groups"]).groups.set_index("group")
    placebo, treated = groups.loc["placebo", NODE_COLUMNS].to_numpy(float), groups.loc["MgCl2_382mg", NODE_COLUMNS].to_numpy(float)
    assert np.allclose(treated - placebo, 382.0 / 320.0)  # the dose over the (women's) requirement, at every node
    assert not groups["mg_fraction_assumed"].any()  # modelled, so the study gets its own deviation of the Mg effect
    deficit = population_deficit(groups.reset_index(), 0.7)
    by_group = dict(zip(groups.index, deficit, strict=True))
    assert by_group["placebo"] == 0.0  # on its habitual diet: at its steady state
    expected = mg_deficit(treated, 0.7).mean() - mg_deficit(placebo, 0.7).mean()
    assert by_group["MgCl2_382mg"] == pytest.approx(expected) and expected < 0  # the supplement relieves a deficit


def test_a_missing_survey_is_named(tmp_path):
    import shutil

    import yaml

    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    registry = yaml.safe_load((data / "studies.yaml").read_text())
    registry["studies"]["Moslehi2012"]["habitual_intake"] = "NoSuchSurvey"
    (data / "studies.yaml").write_text(yaml.safe_dump(registry, sort_keys=False, allow_unicode=True))
    with pytest.raises(DataValidationError, match="habitual_intake of 'Moslehi2012': source 'NoSuchSurvey'"):
        load_selection(data, ["Moslehi2012"])
