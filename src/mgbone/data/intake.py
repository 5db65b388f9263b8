"""Habitual magnesium intake of a population, for groups whose own intake is not printed (issue 14).

A supplement trial prints the dose, not the diet it is added to; its placebo arm prints nothing. Such a group's
exposure is modelled as the population's habitual intake plus the group's supplement: the intake distribution is
a log-normal fitted to the survey's printed 5th, 50th and 95th percentiles (data/reference/mg_intake.csv; median =
p50, log-sd = the mean of the two tails' log distances over z(0.95)), and the models average the Mg deficit over
HABITUAL_INTAKE_NODES equally weighted quantile nodes of it (the models are linear in the deficit, so this is the
population's mean response). A study of both sexes (or of unprinted mix) takes half its nodes from each sex.
"""

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from mgbone.data.errors import DataIssue, DataValidationError
from mgbone.data.vocabulary import Vocabulary

HABITUAL_INTAKE_NODES = 8
# per row: Mg exposure at each node as a fraction of the requirement (habitual intake + the row's supplement)
NODE_COLUMNS = [f"mg_fraction_q{k}" for k in range(HABITUAL_INTAKE_NODES)]
INTAKE_TABLE = "reference/mg_intake.csv"
_Z95 = float(norm.ppf(0.95))


def lognormal_from_percentiles(p5: float, p50: float, p95: float) -> tuple[float, float]:
    """(mu, sigma) of the log-normal through the printed median whose log-sd averages the two tails'."""
    sigma = 0.5 * (np.log(p95 / p50) + np.log(p50 / p5)) / _Z95
    return float(np.log(p50)), float(sigma)


def quantile_nodes(mu: float, sigma: float, count: int) -> np.ndarray:
    """`count` equally weighted nodes: the distribution's quantiles at the midpoints of equal-probability bins."""
    return np.exp(mu + sigma * norm.ppf((np.arange(count) + 0.5) / count))


def intake_nodes(table: pd.DataFrame, source_id: str, sex: str) -> np.ndarray | None:
    """Habitual-intake nodes (mg/day) of a source for sex F, M or mixed; None when the table lacks its percentiles."""
    def of(s):
        rows = table[(table["source_id"] == source_id) & (table["sex"] == s)].set_index("statistic")["value"]
        if not {"p5", "p50", "p95"} <= set(rows.index):
            return None
        return lognormal_from_percentiles(float(rows["p5"]), float(rows["p50"]), float(rows["p95"]))

    if sex in ("F", "M"):
        fitted = of(sex)
        return None if fitted is None else quantile_nodes(*fitted, HABITUAL_INTAKE_NODES)
    women, men = of("F"), of("M")
    if women is None or men is None:
        return None
    half = HABITUAL_INTAKE_NODES // 2
    return np.concatenate([quantile_nodes(*women, half), quantile_nodes(*men, half)])


def with_habitual_intake(frame: pd.DataFrame, registry: dict, vocab: Vocabulary, data_dir: str | Path) -> pd.DataFrame:
    """`NODE_COLUMNS` on the rows of studies whose registry entry names a `habitual_intake` source (NaN elsewhere):
    habitual intake over the requirement of the row's sex (women's for a mixed group, as for doses) plus the row's
    supplement (`mg_pct_requirement`; none for a placebo arm)."""
    out = frame.copy()
    for column in NODE_COLUMNS:
        out[column] = np.nan
    studies = [s for s in out["study_id"].unique() if registry[s].get("habitual_intake")]
    if not studies:
        return out
    path = Path(data_dir) / INTAKE_TABLE
    table = pd.read_csv(path)
    issues = []
    for s in studies:
        source = registry[s]["habitual_intake"]
        for sex in out.loc[out["study_id"] == s, "sex"].unique():
            nodes = intake_nodes(table, source, sex)
            if nodes is None:
                issues.append(DataIssue(str(path), f"habitual_intake of '{s}': source '{source}' has no p5, p50 and "
                                        f"p95 rows for sex {sex}" + (" (F and M for a mixed group)" if sex == "mixed"
                                                                     else "")))
                continue
            rows = (out["study_id"] == s) & (out["sex"] == sex)
            requirement = vocab.species_requirement["human_male" if sex == "M" else "human_female"]["value"]
            supplement = out.loc[rows, "mg_pct_requirement"].fillna(0.0).to_numpy(float)[:, None] / 100.0
            out.loc[rows, NODE_COLUMNS] = nodes[None, :] / requirement + supplement
    if issues:
        raise DataValidationError(issues)
    return out
