"""Snakemake script: combine SBC batches into ranks, uniformity tests and histograms (rule sbc_summary)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
out = snakemake.output
steps.sbc_combine(snakemake.wildcards.analysis, batch_csvs=list(snakemake.input), ranks_csv=out.ranks,
                  summary_csv=out.summary, histogram_png=out.figure)
