"""Snakemake script: sample the posterior of one analysis (rule fit)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
steps.fit(snakemake.config, snakemake.wildcards.analysis, snakemake.input.dataset, snakemake.input.groups,
          snakemake.output.posterior, snakemake.output.info, threads=snakemake.threads)
