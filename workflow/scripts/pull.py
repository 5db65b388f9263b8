"""Snakemake script: validate and harmonise the selected studies (rule pull)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
out = snakemake.output
steps.pull(snakemake.params.config, snakemake.wildcards.analysis, dataset_csv=out.dataset, groups_csv=out.groups,
           manifest_json=out.manifest, overview_png=out.overview, tables=list(snakemake.input.tables))
