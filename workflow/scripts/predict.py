"""Snakemake script: scenario bone-loss bands, study time courses and predictive checks (rule predict)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
i, out = snakemake.input, snakemake.output
steps.predict(snakemake.config, snakemake.wildcards.analysis, i.posterior, i.diagnostics, i.dataset, i.groups,
              out.predictions, out.curves, out.predictive, out.coverage, out.ppc, out.study_curves,
              out.study_curves_png)
