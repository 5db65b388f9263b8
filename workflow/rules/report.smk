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
        overview="results/data/overview.png",
        manifest="results/data/manifest.json",
        catalog="results/data/all_studies.csv",
        registry=registry_path(),
        sensitivity=analysis_outputs("sensitivity"),
        bands=analysis_outputs("bands"),
        study_curves=analysis_outputs("study_curves"),
        routes=analysis_outputs("routes"),
        comparison_loo=comparison_outputs("loo.csv"),
        comparison_agreement=comparison_outputs("agreement.csv"),
        comparison_figure=comparison_outputs("agreement.png"),
        loso_summary=holdout_outputs("summary.csv"),
        loso_held_out=holdout_outputs("held_out.csv"),
        loso_figure=holdout_outputs("loso.png"),
        sbc_summary=expand("results/{analysis}/sbc/summary.csv", analysis=SBC_ANALYSES),
        sbc_figure=expand("results/{analysis}/sbc/ranks.png", analysis=SBC_ANALYSES),
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
        holdouts=HOLDOUT_RUNS,
        sbc=SBC_ANALYSES,
        # the report prints the whole config and reads titles, scenarios and the claim from it
        config=config,
        library=LIBRARY,
    script:
        "../scripts/report.py"
