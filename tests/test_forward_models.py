"""One forward model, two implementations: the PyTensor graph that is fitted and the numpy `trajectories` that
predict scenarios must give the same numbers for the same parameter draws (to 1e-8), with and without a drug."""

import numpy as np
import pandas as pd
import pymc as pm
import pytest

from mgbone.constants import WEEKS_PER_YEAR
from mgbone.models import Scenario, get_model
from mgbone.models.observations import ObservationSet

TIMES = np.arange(0.0, 3 * WEEKS_PER_YEAR + 1, 13.0)  # every quarter for three years (equally spaced)
ARM = "alendronate 10 mg/day"


def groups() -> pd.DataFrame:
    """Two postmenopausal women's groups on a low intake (0.6 of the requirement), one on alendronate."""
    base = {"study_id": "Synthetic", "species": "human", "life_stage": "postmenopausal", "mg_fraction": 0.6,
            "mg_fraction_assumed": False, "estrogen_deficit_start": 0.0, "estrogen_deficit_target": 1.0,
            "menopause_at_weeks": 0.0, "treatment_start_weeks": 0.0, "treatment_stop_weeks": np.inf}
    return pd.DataFrame([{**base, "group": "untreated", "treatment_class": None, "treatment_arm": None},
                         {**base, "group": "treated", "treatment_class": "bisphosphonate", "treatment_arm": ARM}]
                        ).assign(group_index=[0, 1])


def contrasts(quantities) -> pd.DataFrame:
    """Each group against itself at time 0, along the time grid (SYNTHETIC layout, no observed values)."""
    outcome = {"bone_mass": "bmd_lumbar_spine", "osteoclast_activity": "ctx", "mg_status": "serum_mg",
               "pth": "pth", "calcium": "serum_ca"}
    rows = [{"study_id": "Synthetic", "outcome": outcome[q], "quantity": q, "statistic": "mean", "kind": "vs_baseline",
             "target_group": g, "reference_group": g, "time_weeks": t, "reference_time_weeks": 0.0, "y": 0.0,
             "se": 0.0, "source_rows": "grid"} for q in quantities for g in (0, 1) for t in TIMES]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("name", ["M1", "M2"])
def test_graph_and_numpy_trajectories_agree(name):
    model_def = get_model(name)
    quantities = ["bone_mass", "osteoclast_activity", "mg_status"] + (["pth", "calcium"] if name == "M2" else [])
    table = contrasts(quantities)
    model = model_def.build(ObservationSet(groups=groups(), contrasts=table, unfitted=pd.DataFrame()))
    prior = pm.sample_prior_predictive(draws=40, model=model, random_seed=2)["prior"]
    graph = prior["mu"].stack(sample=("chain", "draw")).transpose("sample", ...).to_numpy()
    for g, treatment in ((0, {}), (1, {"treatment_class": "bisphosphonate", "treatment_arm": ARM})):
        scenario = Scenario(name="s", species="human", mg_fraction=0.6, estrogen_deficit_target=1.0, **treatment)
        # the graph's groups belong to a study without an Mg deviation of its own: so does the scenario
        paths = model_def.trajectories(prior, scenario, TIMES, np.random.default_rng(0),
                                       overrides={"study_effect": 0.0})
        for q in quantities:
            rows = ((table["quantity"] == q) & (table["target_group"] == g)).to_numpy()
            numpy_change = paths[q] - paths[q][:, :1]
            np.testing.assert_allclose(graph[:, rows], numpy_change, rtol=1e-8, atol=1e-10, err_msg=f"{name} {q} {g}")
