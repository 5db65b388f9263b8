"""Snakemake script: scenario bone-loss bands and posterior predictive checks (rule predict)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
out = snakemake.output
steps.predict(snakemake.config, snakemake.wildcards.analysis, snakemake.input.posterior, snakemake.input.diagnostics,
              out.predictions, out.curves, out.predictive, out.coverage, out.ppc)
