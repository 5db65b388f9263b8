"""Snakemake script: one batch of simulation-based calibration (rule sbc_batch)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
w = snakemake.wildcards
steps.sbc_batch(snakemake.config, w.analysis, int(w.batch), snakemake.input.dataset, snakemake.input.groups,
                snakemake.output[0])
