"""Snakemake script: combine SBC batches into ranks, uniformity tests and histograms (rule sbc_summary)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
out = snakemake.output
steps.sbc_combine(snakemake.wildcards.analysis, list(snakemake.input), out.ranks, out.summary, out.figure)
