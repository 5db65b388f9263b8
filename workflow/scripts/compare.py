"""Snakemake script: PSIS-LOO comparison and parameter agreement of analyses (rule compare)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
out = snakemake.output
steps.compare(list(snakemake.params.analyses), list(snakemake.input), loo_csv=out.loo, agreement_csv=out.agreement,
              agreement_png=out.figure)
