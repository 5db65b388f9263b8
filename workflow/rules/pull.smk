rule pull:
    input:
        tables=study_tables,
        metadata=data_metadata(),
    output:
        dataset="results/{analysis}/data/dataset.csv",
        groups="results/{analysis}/data/reference_groups.csv",
        manifest="results/{analysis}/data/manifest.json",
        overview=report(
            "results/{analysis}/data/overview.png",
            caption="../report/overview.rst",
            category="Data",
            labels={"analysis": "{analysis}", "figure": "data overview"},
        ),
    log:
        "results/logs/{analysis}/pull.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        config=settings("pull"),
        library=LIBRARY,
    script:
        "../scripts/pull.py"


rule catalog:
    input:
        all_study_files,
    output:
        dataset="results/data/all_studies.csv",
        manifest="results/data/manifest.json",
        overview=report(
            "results/data/overview.png",
            caption="../report/overview.rst",
            category="Data",
            labels={"figure": "all registered studies"},
        ),
    log:
        "results/logs/catalog.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        config=settings("catalog"),
        library=LIBRARY,
    script:
        "../scripts/catalog.py"
