"""Snakemake script: combine the leave-one-study-out folds of an analysis (rule loso_summary)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
out = snakemake.output
steps.loso_summarize(snakemake.wildcards.analysis, fold_csvs=list(snakemake.input.folds),
                     posterior_nc=snakemake.input.posterior, held_out_csv=out.held_out, summary_csv=out.summary,
                     loso_png=out.figure, holdout=snakemake.wildcards.holdout)
