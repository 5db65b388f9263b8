# mgbone: fit magnesium-bone models to published study data and report bone-loss predictions.
# Usage: snakemake --cores 8   (config/config.yaml; see README.md and config/README.md)


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/pull.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/diagnose.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/summarize.smk"
include: "workflow/rules/sensitivity.smk"
include: "workflow/rules/compare.smk"
include: "workflow/rules/loso.smk"
include: "workflow/rules/sbc.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        "results/report.html",


onerror:
    from mgbone.reports.partial import write_partial_report

    path = write_partial_report(config)
    print(
        f"mgbone: the run failed; what finished and what is missing: {path.resolve()}"
    )
