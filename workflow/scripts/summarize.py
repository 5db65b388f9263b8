"""Snakemake script: credible intervals, derived quantities and the claim check (rule summarize)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
out = snakemake.output
steps.summarize(snakemake.config, snakemake.wildcards.analysis, snakemake.input.posterior,
                snakemake.input.diagnostics, out.summary, out.derived, out.probabilities, out.claim)
