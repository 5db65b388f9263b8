rule predict:
    input:
        posterior="results/{analysis}/fit/posterior.nc",
        diagnostics="results/{analysis}/diagnostics/diagnostics.json",
        dataset="results/{analysis}/data/dataset.csv",
        groups="results/{analysis}/data/reference_groups.csv",
        vocabulary=vocabulary_file(),
    output:
        # every scenario's draws (computed once here; summarize and sensitivity read them)
        scenario_draws="results/{analysis}/predict/scenario_draws.nc",
        predictions=report(
            "results/{analysis}/predict/bone_loss_bands.csv",
            caption="../report/bands.rst",
            category="Predictions",
            labels={"analysis": "{analysis}", "table": "scenario bands"},
        ),
        curves=report(
            "results/{analysis}/predict/curves.png",
            caption="../report/curves.rst",
            category="Predictions",
            labels={"analysis": "{analysis}", "figure": "bone-loss curves"},
        ),
        predictive="results/{analysis}/predict/predictive_check.csv",
        coverage="results/{analysis}/predict/coverage.csv",
        study_curves="results/{analysis}/predict/study_curves.csv",
        study_curves_png=report(
            "results/{analysis}/predict/study_curves.png",
            caption="../report/study_curves.rst",
            category="Predictions",
            labels={"analysis": "{analysis}", "figure": "study time courses"},
        ),
        ppc=report(
            "results/{analysis}/predict/predictive_check.png",
            caption="../report/ppc.rst",
            category="Checks of fit",
            labels={"analysis": "{analysis}", "figure": "posterior predictive check"},
        ),
    log:
        "results/logs/{analysis}/predict.log",
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    params:
        config=settings("predict"),
        library=LIBRARY,
    script:
        "../scripts/predict.py"
