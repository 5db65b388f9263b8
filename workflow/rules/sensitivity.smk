# Prior sensitivity by power-scaling: no refit (importance weights), so it runs for every analysis.


rule sensitivity:
    input:
        dataset="results/{analysis}/data/dataset.csv",
        groups="results/{analysis}/data/reference_groups.csv",
        posterior="results/{analysis}/fit/posterior.nc",
        scenario_draws="results/{analysis}/predict/scenario_draws.nc",
    output:
        report(
            "results/{analysis}/summary/sensitivity.csv",
            caption="../report/sensitivity.rst",
            category="Prior sensitivity",
            labels={"analysis": "{analysis}", "table": "power-scaling"},
        ),
    log:
        "results/logs/{analysis}/sensitivity.log",
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        config=settings("sensitivity"),
        library=LIBRARY,
    script:
        "../scripts/sensitivity.py"
