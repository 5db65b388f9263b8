rule fit:
    input:
        dataset="results/{analysis}/data/dataset.csv",
        groups="results/{analysis}/data/reference_groups.csv",
    output:
        posterior="results/{analysis}/fit/posterior.nc",
        info="results/{analysis}/fit/fit_info.json",
    log:
        "results/logs/{analysis}/fit.log",
    benchmark:
        "results/benchmarks/{analysis}/fit.tsv"
    threads: 4
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        config=settings("fit"),
        library=LIBRARY,
    script:
        "../scripts/fit.py"
