"""Snakemake script: the self-contained HTML review page (rule report)."""

from pathlib import Path

import yaml

from mgbone.config import HOLDOUTS
from mgbone.io import write_text
from mgbone.logs import setup_logging
from mgbone.reports.html import render_report
from mgbone.reports.partial import PARTIAL_REPORT

setup_logging(snakemake.log[0])
inputs, params = snakemake.input, snakemake.params
kinds = ["dataset", "fit_info", "diagnostics", "rank", "summary", "derived", "probabilities", "claim", "curves",
         "ppc", "coverage", "sensitivity", "bands", "study_curves", "routes"]
analyses = {name: {kind: getattr(inputs, kind)[i] for kind in kinds} for i, name in enumerate(params.analyses)}
config = params.config  # the whole config is this rule's interface: the page prints it
config_text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
comparisons = {name: {"loo": inputs.comparison_loo[i], "agreement": inputs.comparison_agreement[i],
                      "figure": inputs.comparison_figure[i]} for i, name in enumerate(params.comparisons)}
# held-out refits by section (loso, loto): the analysis's name for leave-one-study-out, with the section otherwise
loso = {(analysis if holdout == "loso" else f"{analysis}: {HOLDOUTS[holdout]}"):
        {"summary": inputs.loso_summary[i], "figure": inputs.loso_figure[i]}
        for i, (holdout, analysis) in enumerate(params.holdouts)}
sbc = {name: {"summary": inputs.sbc_summary[i], "figure": inputs.sbc_figure[i]} for i, name in enumerate(params.sbc)}
html = render_report(config, config_text, analyses, inputs.overview, inputs.manifest, inputs.catalog,
                     Path.cwd(), comparisons=comparisons, loso=loso, sbc=sbc)
write_text(snakemake.output[0], html)
Path(PARTIAL_REPORT).unlink(missing_ok=True)  # a complete report supersedes the page of a failed run
