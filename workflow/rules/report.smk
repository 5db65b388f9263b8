rule report:
    input:
        dataset=analysis_outputs("dataset"),
        fit_info=analysis_outputs("fit_info"),
        diagnostics=analysis_outputs("diagnostics"),
        rank=analysis_outputs("rank"),
        summary=analysis_outputs("summary"),
        derived=analysis_outputs("derived"),
        probabilities=analysis_outputs("probabilities"),
        claim=analysis_outputs("claim"),
        curves=analysis_outputs("curves"),
        ppc=analysis_outputs("ppc"),
        coverage=analysis_outputs("coverage"),
        overview=expand("results/{analysis}/data/overview.png", analysis=ANALYSES[0]),
        manifest=expand("results/{analysis}/data/manifest.json", analysis=ANALYSES[0]),
        comparisons=expand(
            "results/comparisons/{comparison}.csv", comparison=COMPARISONS
        ),
    output:
        "results/report.html",
    log:
        "results/logs/report.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        analyses=ANALYSES,
        comparisons=COMPARISONS,
        configfiles=workflow.configfiles,
    script:
        "../scripts/report.py"
