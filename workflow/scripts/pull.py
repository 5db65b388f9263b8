"""Snakemake script: validate and harmonise the selected studies (rule pull)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
out = snakemake.output
steps.pull(snakemake.config, snakemake.wildcards.analysis, out.dataset, out.groups, out.manifest, out.overview,
           tables=list(snakemake.input.tables))
