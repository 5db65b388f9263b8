"""Snakemake script: validate and harmonise every registered study (rule catalog)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
out = snakemake.output
steps.catalog(snakemake.params.config, dataset_csv=out.dataset, manifest_json=out.manifest, overview_png=out.overview)
