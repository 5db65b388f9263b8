"""Snakemake script: the self-contained HTML review page (rule report)."""

from pathlib import Path

from mgbone.io import write_text
from mgbone.logs import setup_logging
from mgbone.reports.html import render_report

setup_logging(snakemake.log[0])
inputs = snakemake.input
kinds = ["dataset", "fit_info", "diagnostics", "rank", "summary", "derived", "probabilities", "claim", "curves",
         "ppc", "coverage"]
analyses = {name: {kind: getattr(inputs, kind)[i] for kind in kinds} for i, name in enumerate(snakemake.params.analyses)}
config_text = "".join(Path(p).read_text(encoding="utf-8") for p in snakemake.params.configfiles)
comparisons = dict(zip(snakemake.params.comparisons, inputs.comparisons, strict=True))
html = render_report(snakemake.config, config_text, analyses, inputs.overview[0], inputs.manifest[0],
                     list(inputs.dataset), Path.cwd(), comparisons=comparisons)
write_text(snakemake.output[0], html)
