rule summarize:
    input:
        posterior="results/{analysis}/fit/posterior.nc",
        diagnostics="results/{analysis}/diagnostics/diagnostics.json",
    output:
        summary=report(
            "results/{analysis}/summary/parameters.csv",
            caption="../report/summary.rst",
            category="Credible intervals",
            labels={"analysis": "{analysis}", "table": "parameters"},
        ),
        derived=report(
            "results/{analysis}/summary/derived.csv",
            caption="../report/derived.rst",
            category="Credible intervals",
            labels={"analysis": "{analysis}", "table": "derived quantities"},
        ),
        probabilities="results/{analysis}/summary/probabilities.csv",
        claim="results/{analysis}/summary/claim.json",
    log:
        "results/logs/{analysis}/summarize.log",
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    params:
        scenarios=config["scenarios"],
        derived=config["derived"],
        claim=config["claim"],
    script:
        "../scripts/summarize.py"
