"""Snakemake script: PSIS-LOO comparison of analyses (rule compare)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
steps.compare(list(snakemake.params.analyses), list(snakemake.input), snakemake.output[0])
