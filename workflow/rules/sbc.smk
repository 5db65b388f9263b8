# Simulation-based calibration on the design of an analysis's studies (SYNTHETIC data): batches
# of simulations as independent jobs; each simulation's seed depends only on its index.


rule sbc_batch:
    input:
        dataset="results/{analysis}/data/dataset.csv",
        groups="results/{analysis}/data/reference_groups.csv",
    output:
        "results/{analysis}/sbc/batches/{batch}.csv",
    log:
        "results/logs/{analysis}/sbc/{batch}.log",
    benchmark:
        "results/benchmarks/{analysis}/sbc/{batch}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=120,
    params:
        config=settings("sbc_batch"),
        library=LIBRARY,
    script:
        "../scripts/sbc_batch.py"


rule sbc_summary:
    input:
        sbc_batches,
    output:
        ranks="results/{analysis}/sbc/ranks.csv",
        summary=report(
            "results/{analysis}/sbc/summary.csv",
            caption="../report/sbc.rst",
            category="Calibration",
            labels={"analysis": "{analysis}", "table": "SBC summary"},
        ),
        figure=report(
            "results/{analysis}/sbc/ranks.png",
            caption="../report/sbc.rst",
            category="Calibration",
            labels={"analysis": "{analysis}", "figure": "SBC rank histograms"},
        ),
    log:
        "results/logs/{analysis}/sbc/summary.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        library=LIBRARY,
    script:
        "../scripts/sbc_summary.py"


rule sbc:
    input:
        expand("results/{analysis}/sbc/summary.csv", analysis=SBC_ANALYSES),
