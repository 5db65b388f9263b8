"""Snakemake script: refit without each study of a batch and predict it (rule loso_batch)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
w, i = snakemake.wildcards, snakemake.input
steps.loso_batch(snakemake.params.config, w.analysis, list(snakemake.params.studies), dataset_csv=i.dataset,
                 groups_csv=i.groups, held_out_csv=snakemake.output[0], threads=snakemake.threads,
                 holdout=w.holdout)
