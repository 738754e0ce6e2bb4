"""Partial engines get honest verdicts: unsupported exactly where a feature is missing.

Each engine of tests/engines_partial.py is torch with one feature missing, loaded the
way an author's engine is (``module:attr``, capabilities probed or declared), and run
through ``gradspec run`` on a few cases: the examples needing the missing feature
are *unsupported*; properties still run, their random programs drawing only what
the engine offers; nothing is an *error* of a whole property.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gradspec.conformance.loader import load_engine
from gradspec.spec.capabilities import ALL_CAPABILITIES

ROOT = Path(__file__).parents[1]

pytestmark = pytest.mark.slow


def verdicts(engine: str, cases: list[str], tmp_path: Path) -> dict[str, tuple[str, str]]:
    """case -> (verdict, message) from ``gradspec run`` of ``cases`` on ``engine``."""
    report = tmp_path / engine.rsplit(":", 1)[-1]
    command = [sys.executable, "-m", "gradspec.conformance.cli", "run", "--engine", engine]
    command += [arg for case in cases for arg in ("--case", case)] + ["--report-dir", str(report)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HYPOTHESIS_PROFILE": "ci"}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    found = {}
    for line in (report / "results.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("type") == "outcome":
            found[record["case"]] = (record["verdict"], record.get("message", ""))
    return found


def probed(spec: str) -> frozenset[str]:
    return load_engine(spec).capabilities


def test_the_probe_finds_exactly_what_each_engine_lacks() -> None:
    assert ALL_CAPABILITIES - probed("tests.engines_partial:without_cat") == {"op.cat"}
    assert ALL_CAPABILITIES - probed("tests.engines_partial:without_no_grad") == {"no_grad"}
    assert ALL_CAPABILITIES - probed("tests.engines_partial:sgd_without_nesterov") == {"optim.sgd.nesterov"}


def test_missing_cat_makes_only_the_examples_calling_it_unsupported(tmp_path: Path) -> None:
    found = verdicts(
        "tests.engines_partial:without_cat",
        ["graph.value", "backward.grad-tensors-ones", "prop.grad-matches-finite-differences"],
        tmp_path,
    )
    assert found["graph.value"][0] == "pass"
    assert found["backward.grad-tensors-ones"][0] == "unsupported", found["backward.grad-tensors-ones"]
    # the property's programs never draw cat, so it runs and passes
    assert found["prop.grad-matches-finite-differences"][0] == "pass", found


def test_without_no_grad_graph_properties_still_run(tmp_path: Path) -> None:
    found = verdicts(
        "tests.engines_partial:without_no_grad",
        [
            "rules.no-grad-records-nothing",
            "prop.grad-matches-finite-differences",
            "prop.agrees-with-reference",
        ],
        tmp_path,
    )
    assert found["rules.no-grad-records-nothing"][0] == "unsupported"
    assert found["prop.grad-matches-finite-differences"][0] == "pass", found
    assert found["prop.agrees-with-reference"][0] == "pass", found


def test_an_sgd_option_raising_not_implemented_is_unsupported(tmp_path: Path) -> None:
    probed_run = verdicts(
        "tests.engines_partial:sgd_without_nesterov", ["prop.sgd-trajectory-matches-reference"], tmp_path
    )
    assert probed_run["prop.sgd-trajectory-matches-reference"][0] == "pass", probed_run
    declared_run = verdicts(
        "tests.engines_partial:sgd_without_momentum_declared",
        ["logreg.sequential-converges", "prop.sgd-trajectory-matches-reference"],
        tmp_path,
    )
    # The example needs momentum, which the engine does not declare: unsupported, not an error.
    assert declared_run["logreg.sequential-converges"][0] == "unsupported", declared_run
    assert declared_run["prop.sgd-trajectory-matches-reference"][0] == "pass", declared_run
