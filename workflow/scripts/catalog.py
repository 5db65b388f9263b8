"""Snakemake script: validate and harmonise every registered study (rule catalog)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
out = snakemake.output
steps.catalog(snakemake.config, out.dataset, out.manifest, out.overview)
