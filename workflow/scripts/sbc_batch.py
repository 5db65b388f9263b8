"""Snakemake script: one batch of simulation-based calibration (rule sbc_batch)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
w, i = snakemake.wildcards, snakemake.input
steps.sbc_batch(snakemake.params.config, w.analysis, int(w.batch), dataset_csv=i.dataset, groups_csv=i.groups,
                ranks_csv=snakemake.output[0])
