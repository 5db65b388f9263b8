# Leave-one-study-out: one refit per (analysis, left-out study), as independent jobs that spread
# across cores or cluster nodes and resume where they stopped. Analyses listed under `loso` only.


rule loso_fold:
    input:
        dataset="results/{analysis}/data/dataset.csv",
        groups="results/{analysis}/data/reference_groups.csv",
    output:
        "results/{analysis}/loso/folds/{study}.csv",
    log:
        "results/logs/{analysis}/loso/{study}.log",
    benchmark:
        "results/benchmarks/{analysis}/loso/{study}.tsv"
    threads: 4
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        config=settings("loso_fold"),
        library=LIBRARY,
    script:
        "../scripts/loso_fold.py"


rule loso_summary:
    input:
        folds=loso_folds,
        posterior="results/{analysis}/fit/posterior.nc",
    output:
        held_out=report(
            "results/{analysis}/loso/held_out.csv",
            caption="../report/loso.rst",
            category="Leave one study out",
            labels={"analysis": "{analysis}", "table": "held-out predictions"},
        ),
        summary="results/{analysis}/loso/summary.csv",
        figure=report(
            "results/{analysis}/loso/loso.png",
            caption="../report/loso.rst",
            category="Leave one study out",
            labels={"analysis": "{analysis}", "figure": "held-out predictions"},
        ),
    log:
        "results/logs/{analysis}/loso/summary.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        library=LIBRARY,
    script:
        "../scripts/loso_summary.py"


rule loso:
    input:
        expand("results/{analysis}/loso/summary.csv", analysis=LOSO_ANALYSES),
