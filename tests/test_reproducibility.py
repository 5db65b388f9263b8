"""The promise across machines: the tiny run's posterior summaries agree with a stored reference table to
Monte Carlo error (on this machine and lock file they are byte-identical; elsewhere the last-bit rounding of
another CPU or BLAS kernel sends the chains elsewhere, so only a statistical tolerance can hold).

The reference (tests/reference/tiny_parameters.csv) was written from results/tiny/summary/parameters.csv of a
tiny run; a change of the models, priors or data that moves the posterior must regenerate it (copy those five
columns from a fresh tiny run) and say why in the commit."""

import pandas as pd

from tests.conftest import ROOT

REFERENCE = ROOT / "tests/reference/tiny_parameters.csv"
# 0.5 posterior sd: several Monte Carlo standard errors of the tiny run's short chains (2 x 150 draws)
SD_TOLERANCE = 0.5


def test_posterior_summaries_match_the_stored_reference_within_tolerance(finished_run):
    reference = pd.read_csv(REFERENCE).set_index("quantity")
    table = pd.read_csv(finished_run / "results/tiny/summary/parameters.csv").set_index("quantity")
    assert set(reference.index) == set(table.index), "parameters differ from the reference: regenerate it"
    scale = reference["sd"].clip(lower=1e-12)
    for column in ("mean", "eti90_lower", "eti90_upper"):
        distance = (table.loc[reference.index, column] - reference[column]).abs() / scale
        worst = distance.idxmax()
        assert distance.max() <= SD_TOLERANCE, (
            f"{column} of {worst} is {distance.max():.2f} posterior sd from the reference "
            f"({table.loc[worst, column]:.6g} vs {reference.loc[worst, column]:.6g})")
    ratio = table.loc[reference.index, "sd"] / scale
    assert ratio.between(0.6, 1.6).all(), ratio[~ratio.between(0.6, 1.6)]
