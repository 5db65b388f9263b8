"""Snakemake script: credible intervals, derived quantities and the claim check (rule summarize)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
i, out = snakemake.input, snakemake.output
steps.summarize(snakemake.params.config, snakemake.wildcards.analysis, posterior_nc=i.posterior,
                diagnostics_json=i.diagnostics, scenario_draws_nc=i.scenario_draws,
                registry_yaml=i.registry, summary_csv=out.summary,
                derived_csv=out.derived, probabilities_csv=out.probabilities, claim_json=out.claim,
                routes_csv=out.routes, cells_csv=out.cells)
