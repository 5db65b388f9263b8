rule pull:
    input:
        study_files,
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
        spec=analysis_spec,
    script:
        "../scripts/pull.py"
