"""Snakemake script: refit without one study and predict it (rule loso_fold)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
w = snakemake.wildcards
steps.loso_fold(snakemake.config, w.analysis, w.study, snakemake.input.dataset, snakemake.input.groups,
                snakemake.output[0], threads=snakemake.threads)
