# Leave-one-study-out: one refit per (analysis, left-out study), `per_job` folds per job (one compiled model serves
# a job's folds), as independent jobs that spread across cores or cluster nodes and resume where they stopped.
# {holdout} is the config section asking (mgbone.config.HOLDOUTS): `loso` (every study, or its designs) and
# `loto` (the drug and hormone trials), each for the analyses it lists, each in its own results folder.


rule loso_batch:
    input:
        dataset="results/{analysis}/data/dataset.csv",
        groups="results/{analysis}/data/reference_groups.csv",
    output:
        "results/{analysis}/{holdout}/batches/{batch}.csv",
    log:
        "results/logs/{analysis}/{holdout}/batch{batch}.log",
    benchmark:
        "results/benchmarks/{analysis}/{holdout}/batch{batch}.tsv"
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
            "results/{analysis}/{holdout}/held_out.csv",
            caption="../report/loso.rst",
            category="Leave one study out",
            labels={
                "analysis": "{analysis}",
                "held out": "{holdout}",
                "table": "held-out predictions",
            },
        ),
        summary="results/{analysis}/{holdout}/summary.csv",
        figure=report(
            "results/{analysis}/{holdout}/loso.png",
            caption="../report/loso.rst",
            category="Leave one study out",
            labels={
                "analysis": "{analysis}",
                "held out": "{holdout}",
                "figure": "held-out predictions",
            },
        ),
    log:
        "results/logs/{analysis}/{holdout}/summary.log",
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
        holdout_outputs("summary.csv", sections=["loso"]),


rule loto:
    input:
        holdout_outputs("summary.csv", sections=["loto"]),
