"""Snakemake script: power-scaling prior sensitivity of one analysis (rule sensitivity)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
i = snakemake.input
steps.sensitivity(snakemake.config, snakemake.wildcards.analysis, i.dataset, i.groups, i.posterior, snakemake.output[0])
