"""Snakemake script: convergence and LOO diagnostics, and the gate (rule diagnose)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
i, out = snakemake.input, snakemake.output
steps.diagnose(snakemake.params.config, snakemake.wildcards.analysis, posterior_nc=i.posterior, fit_info_json=i.info,
               diagnostics_json=out.diagnostics, parameters_csv=out.parameters, rank_png=out.rank)
