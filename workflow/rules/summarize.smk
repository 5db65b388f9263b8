rule summarize:
    input:
        posterior="results/{analysis}/fit/posterior.nc",
        diagnostics="results/{analysis}/diagnostics/diagnostics.json",
        scenario_draws="results/{analysis}/predict/scenario_draws.nc",
        drug_table=claim_drug_table,
        registry=registry_path(),
        vocabulary=vocabulary_file(),
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
        routes=report(
            "results/{analysis}/summary/routes.csv",
            caption="../report/routes.rst",
            category="Credible intervals",
            labels={"analysis": "{analysis}", "table": "Mg routes"},
        ),
        cells="results/{analysis}/summary/cells.csv",
    log:
        "results/logs/{analysis}/summarize.log",
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    params:
        config=settings("summarize"),
        library=LIBRARY,
    script:
        "../scripts/summarize.py"
