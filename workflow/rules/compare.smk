rule compare:
    input:
        comparison_posteriors,
    output:
        report(
            "results/comparisons/{comparison}.csv",
            caption="../report/compare.rst",
            category="Comparisons",
            labels={"comparison": "{comparison}"},
        ),
    log:
        "results/logs/comparisons/{comparison}.log",
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        analyses=comparison_analyses,
    script:
        "../scripts/compare.py"
