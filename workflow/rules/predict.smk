rule predict:
    input:
        posterior="results/{analysis}/fit/posterior.nc",
        diagnostics="results/{analysis}/diagnostics/diagnostics.json",
    output:
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
        scenarios=config["scenarios"],
    script:
        "../scripts/predict.py"
