# Leave-one-study-out: one refit per (analysis, left-out study), `loso.per_job` folds per job (one compiled
# model serves a job's folds), as independent jobs that spread across cores or cluster nodes and resume
# where they stopped. Analyses listed under `loso` only.


rule loso_batch:
    input:
        dataset="results/{analysis}/data/dataset.csv",
        groups="results/{analysis}/data/reference_groups.csv",
    output:
        "results/{analysis}/loso/batches/{batch}.csv",
    log:
        "results/logs/{analysis}/loso/batch{batch}.log",
    benchmark:
        "results/benchmarks/{analysis}/loso/batch{batch}.tsv"
    threads: 4
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        config=settings("loso_batch"),
        studies=loso_batch_studies,
        library=LIBRARY,
    script:
        "../scripts/loso_batch.py"


rule loso_summary:
    input:
        folds=loso_batches,
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
