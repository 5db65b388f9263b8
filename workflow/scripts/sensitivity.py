"""Snakemake script: power-scaling prior sensitivity of one analysis (rule sensitivity)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
i = snakemake.input
steps.sensitivity(snakemake.params.config, snakemake.wildcards.analysis, dataset_csv=i.dataset, groups_csv=i.groups,
                  posterior_nc=i.posterior, scenario_draws_nc=i.scenario_draws,
                  sensitivity_csv=snakemake.output[0])
