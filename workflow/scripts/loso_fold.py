"""Snakemake script: refit without one study and predict it (rule loso_fold)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
w, i = snakemake.wildcards, snakemake.input
steps.loso_fold(snakemake.params.config, w.analysis, w.study, dataset_csv=i.dataset, groups_csv=i.groups,
                held_out_csv=snakemake.output[0], threads=snakemake.threads)
