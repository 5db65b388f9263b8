"""Snakemake script: combine the leave-one-study-out folds of an analysis (rule loso_summary)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
out = snakemake.output
steps.loso_summarize(snakemake.wildcards.analysis, list(snakemake.input.folds), snakemake.input.posterior,
                     out.held_out, out.summary, out.figure)
