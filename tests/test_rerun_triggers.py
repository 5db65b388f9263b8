"""Every config key and the library itself are part of a step's interface: changing one reruns exactly the
rules that read it (their `params`), never fewer (a stale output) and never more (wasted refits)."""

import copy
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT
from tests.e2e import SNAKEMAKE


def _set(config: dict, dotted: str, value) -> None:
    node = config
    keys = dotted.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


def _scenario_longer(config):
    config["scenarios"][0]["duration_years"] += 1


# documented key -> (edit of the tiny config, rules whose params change). `report` prints the whole config,
# so it reruns for every key and is added below.
CHANGES = {
    "seed": (lambda c: _set(c, "seed", c["seed"] + 1), {"fit", "predict", "summarize", "loso_batch",
                                                        "sbc_batch"}),
    "observation.cohort_exposure_years": (lambda c: _set(c, "observation.cohort_exposure_years", 12),
                                          {"catalog", "pull", "fit", "predict", "sensitivity", "loso_batch",
                                           "sbc_batch"}),
    "sampler_defaults": (lambda c: _set(c, "sampler_defaults.draws", 160), {"fit", "loso_batch"}),
    "analyses.<name>.sampler": (lambda c: _set(c, "analyses.tiny_rat.sampler", {"target_accept": 0.95}), {"fit"}),
    "analyses.<name>.model": (lambda c: _set(c, "analyses.tiny_rat.model", "M1"),
                              {"fit", "predict", "summarize", "sensitivity", "sbc_batch"}),
    "analyses.<name>.studies": (lambda c: _set(c, "analyses.tiny_rat.studies", ["Rude1998", "Fatemi1991"]), {"pull"}),
    "loso.sampler": (lambda c: _set(c, "loso.sampler", {"draws": 120}), {"loso_batch"}),
    # (the folds regroup: batch 0 holds other studies, and loso_summary combines another set of files)
    "loso.per_job": (lambda c: _set(c, "loso.per_job", 1), {"loso_batch", "loso_summary"}),
    "sbc.sampler": (lambda c: _set(c, "sbc.sampler.draws", 110), {"sbc_batch"}),
    # (other batches: sbc_summary combines another set of files)
    "sbc.per_job": (lambda c: _set(c, "sbc.per_job", 4), {"sbc_batch", "sbc_summary"}),
    "sensitivity.threshold": (lambda c: _set(c, "sensitivity.threshold", 0.1), {"sensitivity"}),
    "diagnostics": (lambda c: _set(c, "diagnostics.ess_min", 300), {"diagnose"}),
    "scenarios[]": (_scenario_longer, {"predict", "summarize"}),
    "derived": (lambda c: _set(c, "derived.loss_rates", [{"scenario": "postmenopausal_low_mg", "from_years": 0,
                                                           "to_years": 2}]), {"summarize"}),
    "claim.horizon_years": (lambda c: _set(c, "claim.horizon_years", 2), {"summarize", "sensitivity"}),
    "claim.drug": (lambda c: _set(c, "claim.drug.outcome", "bmd_femoral_neck"), {"summarize"}),
    "claim.analysis": (lambda c: _set(c, "claim.analysis", "tiny_rat"), set()),
    "report.title": (lambda c: _set(c, "report.title", "another title"), set()),
}


def dry_run(project, config_path, env=None) -> dict[str, set[str]]:
    """Rules whose own interface changed (Snakemake's summary: 'params changed', or 'set of input files changed'
    when the edit also selects other files, e.g. another study), and rules with only a pending update."""
    result = subprocess.run([*SNAKEMAKE, "--summary", "--configfile", str(config_path), "--replace-workflow-config"],
                            cwd=project, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = {"params": set(), "other": set()}
    for line in result.stdout.splitlines():
        cells = line.split("\t")
        if len(cells) != 6 or cells[0] == "output_file":
            continue
        rule, status, plan = cells[2], cells[4], cells[5]
        if status in ("params changed", "set of input files changed"):
            out["params"].add(rule)
        elif plan != "no update":
            out["other"].add(rule)
    return out


def test_unchanged_config_reruns_nothing(finished_run, tmp_path):
    path = tmp_path / "same.yaml"
    path.write_text((finished_run / ".test/config.yaml").read_text())
    assert dry_run(finished_run, path) == {"params": set(), "other": set()}


@pytest.mark.parametrize("key", sorted(CHANGES))
def test_a_config_key_reruns_exactly_the_rules_that_read_it(finished_run, tmp_path, key):
    config = yaml.safe_load((finished_run / ".test/config.yaml").read_text())
    edit, expected = CHANGES[key]
    changed = copy.deepcopy(config)
    edit(changed)
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(changed, sort_keys=False))
    scheduled = dry_run(finished_run, path)
    assert scheduled["params"] == expected | {"report"}, key


def test_editing_the_library_reruns_every_step(finished_run, tmp_path):
    import mgbone

    source = tmp_path / "src" / "mgbone"
    shutil.copytree(ROOT / "src" / "mgbone", source, ignore=shutil.ignore_patterns("__pycache__"))
    priors = source / "models" / "priors.py"
    priors.write_text(priors.read_text() + "\n# an edit of the priors module\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path / "src")}
    probe = subprocess.run([sys.executable, "-c", "import mgbone; print(mgbone.__file__)"], env=env,
                           capture_output=True, text=True)
    assert str(source) in probe.stdout, "the edited copy of the library is not the one imported"
    assert mgbone.__file__ != probe.stdout.strip()
    scheduled = dry_run(finished_run, finished_run / ".test/config.yaml", env=env)
    expected = {"catalog", "pull", "fit", "diagnose", "predict", "summarize", "sensitivity", "compare", "loso_batch",
                "loso_summary", "sbc_batch", "sbc_summary", "report"}
    assert scheduled["params"] == expected


def test_a_held_out_section_hands_its_own_sampler_to_its_refits():
    """loso and loto refits run the same step; each job reads the sampler of the section that asked for it."""
    from mgbone.config import step_config

    config = {"seed": 1, "analyses": {"a": {"model": "M1"}}, "loso": {"sampler": {"draws": 100}},
              "loto": {"sampler": {"draws": 300}}, "sampler_defaults": {"chains": 2}}
    trial = step_config(config, "loso_batch", "a", "loto")
    assert trial["loto"] == {"sampler": {"draws": 300}} and "loso" not in trial
    assert step_config(config, "loso_batch", "a", "loso")["loso"] == {"sampler": {"draws": 100}}
