rule compare:
    input:
        comparison_posteriors,
    output:
        loo=report(
            "results/comparisons/{comparison}/loo.csv",
            caption="../report/compare.rst",
            category="Comparisons",
            labels={"comparison": "{comparison}", "table": "PSIS-LOO"},
        ),
        agreement=report(
            "results/comparisons/{comparison}/agreement.csv",
            caption="../report/agreement.rst",
            category="Comparisons",
            labels={"comparison": "{comparison}", "table": "parameter agreement"},
        ),
        figure=report(
            "results/comparisons/{comparison}/agreement.png",
            caption="../report/agreement.rst",
            category="Comparisons",
            labels={"comparison": "{comparison}", "figure": "overlaid posteriors"},
        ),
    log:
        "results/logs/comparisons/{comparison}.log",
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        analyses=comparison_analyses,
        library=LIBRARY,
    script:
        "../scripts/compare.py"
