"""Snakemake script: convergence and LOO diagnostics, and the gate (rule diagnose)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
out = snakemake.output
steps.diagnose(snakemake.config, snakemake.wildcards.analysis, snakemake.input.posterior, snakemake.input.info,
               out.diagnostics, out.parameters, out.rank)
