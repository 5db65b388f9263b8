"""Snakemake script: sample the posterior of one analysis (rule fit)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
i, out = snakemake.input, snakemake.output
steps.fit(snakemake.params.config, snakemake.wildcards.analysis, dataset_csv=i.dataset, groups_csv=i.groups,
          posterior_nc=out.posterior, fit_info_json=out.info, threads=snakemake.threads)
