"""Posterior draws as arrays and tables, through ArviZ (`arviz_base.extract`, `dataset_to_dataframe`).

Every element of a vector parameter is labelled `name[label,label]` (its coordinate values in C order,
joined by a comma without a space), as in the parameter summary and the agreement table.

Datasets are converted one variable at a time: `dataset_to_dataframe` stacks a whole dataset with
`Dataset.to_stacked_array`, which (xarray >= 2025.04) orders the stacked dimensions by their first appearance
across variables, while ArviZ labels each variable's elements in that variable's own dimension order. When
two variables meet the same dimensions in different orders (M0's prior: `species_speed[species]` before
`slope[level_quantity, species]`), whole-dataset conversion pairs draws with the wrong labels
(arviz_base 1.3.1, arviz_stats 1.3.3 `summary(fmt="wide")` alike); one variable at a time it cannot.
"""

import numpy as np
import pandas as pd
import xarray as xr
from arviz_base import dataset_to_dataframe, extract
from arviz_base.labels import BaseLabeller

from mgbone.constants import SAMPLE_DIMS


class Labeller(BaseLabeller):
    """ArviZ's labeller with the project's element names: `name[a,b]`, not `name[a, b]`."""

    def sel_to_str(self, sel, isel):
        return ",".join(self.dim_coord_to_str(dim, v, i) for (dim, v), (_, i) in zip(sel.items(), isel.items(),
                                                                                      strict=True))


LABELLER = Labeller()


def draw_matrix(data, var_name: str, group: str = "posterior") -> np.ndarray:
    """One variable's draws as an array (sample, ...): chains concatenated, chain-major."""
    return extract(data, group=group, var_names=var_name, sample_dims=list(SAMPLE_DIMS)).transpose(
        "sample", ...).to_numpy()


def _frame(dataset: xr.Dataset, sample_dims) -> pd.DataFrame:
    """`dataset_to_dataframe`, one variable at a time (see above), columns side by side in variable order."""
    return pd.concat([dataset_to_dataframe(dataset[[name]], sample_dims=list(sample_dims), labeller=LABELLER)
                      for name in dataset.data_vars], axis=1)


def element_draws(dataset: xr.Dataset, sample_dims=SAMPLE_DIMS) -> pd.DataFrame:
    """Draws per scalar element: one column per element (labelled as above), one row per draw."""
    return _frame(dataset, sample_dims)


def summary_table(stats: xr.Dataset, column: str = "quantity") -> pd.DataFrame:
    """Statistics stacked along a `summary` dimension as a table: one row per scalar element, one column per
    statistic (in the order of the `summary` coordinate)."""
    table = _frame(stats, ["summary"]).T
    table.columns = [str(c) for c in table.columns]
    table.columns.name = None
    return table.rename_axis(column).reset_index()
