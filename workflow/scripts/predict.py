"""Snakemake script: scenario bone-loss bands, study time courses and predictive checks (rule predict)."""

from mgbone import steps
from mgbone.logs import setup_logging

setup_logging(snakemake.log[0])
i, out = snakemake.input, snakemake.output
steps.predict(snakemake.params.config, snakemake.wildcards.analysis, posterior_nc=i.posterior,
              diagnostics_json=i.diagnostics, dataset_csv=i.dataset, groups_csv=i.groups, vocabulary_yaml=i.vocabulary,
              scenario_draws_nc=out.scenario_draws, predictions_csv=out.predictions, curves_png=out.curves,
              predictive_csv=out.predictive,
              coverage_csv=out.coverage, ppc_png=out.ppc, study_curves_csv=out.study_curves,
              study_curves_png=out.study_curves_png)
