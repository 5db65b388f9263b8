rule diagnose:
    input:
        posterior="results/{analysis}/fit/posterior.nc",
        info="results/{analysis}/fit/fit_info.json",
    output:
        diagnostics="results/{analysis}/diagnostics/diagnostics.json",
        parameters=report(
            "results/{analysis}/diagnostics/parameters.csv",
            caption="../report/parameters.rst",
            category="Diagnostics",
            labels={"analysis": "{analysis}", "table": "convergence"},
        ),
        rank=report(
            "results/{analysis}/diagnostics/rank.png",
            caption="../report/rank.rst",
            category="Diagnostics",
            labels={"analysis": "{analysis}", "figure": "rank plots"},
        ),
    log:
        "results/logs/{analysis}/diagnose.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        config=settings("diagnose"),
        library=LIBRARY,
    script:
        "../scripts/diagnose.py"
