"""Expectations files: loading errors name file and line; gating turns outcomes as documented."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gradspec.conformance.expectations import (
    ExpectationsError,
    Kind,
    Listed,
    draft_expectations,
    infer_kind,
    load_expectations,
)
from gradspec.conformance.outcomes import Outcome, Verdict

KNOWN = {"rules.accumulate", "graph.value", "backward.second-call-message", "backward.non-scalar-message"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "expect.toml"
    path.write_text(text, encoding="utf-8")
    return path


def outcome(case: str, verdict: Verdict, engine: str = "mine", message: str = "boom") -> Outcome:
    return Outcome(case=case, engine=engine, verdict=verdict, message=message)


GOOD = """\
# a comment
[mine.fail]
"rules.accumulate" = "replaces .grad instead of adding"
"backward.*-message" = "raises with its own wording"

[mine.unsupported]
"graph.value" = "cannot print values"
"""


def test_loads_entries_with_their_lines(tmp_path: Path) -> None:
    expectations = load_expectations(write(tmp_path, GOOD), KNOWN)
    by_pattern = {e.pattern: e for e in expectations.entries}
    assert by_pattern["rules.accumulate"].listed is Listed.FAIL
    assert by_pattern["rules.accumulate"].source.endswith("expect.toml:3")
    assert by_pattern["graph.value"].source.endswith("expect.toml:7")
    assert expectations.engines() == {"mine"}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('[mine.fail]\n"rules.accumulate" = \n', 2, "not valid TOML"),
        ('[mine.xfail]\n"rules.accumulate" = "r"\n', 1, "unknown key 'xfail'"),
        ('[mine.fail]\n"rules.acumulate" = "r"\n', 2, "did you mean 'rules.accumulate'"),
        ('[mine.fail]\n"nothing.*" = "r"\n', 2, "pattern 'nothing.*' names no case"),
        ('[mine.fail]\n"rules.accumulate" = "  "\n', 2, "has no reason"),
        ('[mine.fail]\n"rules.accumulate" = 3\n', 2, "must be a string"),
        ("[mine.fail]\nrules.accumulate = 'r'\n", 2, "dotted key"),
        ('[mine.fail]\n"graph.value" = "r"\n[mine.unsupported]\n"graph.value" = "r"\n', 4, "already listed"),
        ('mine = "r"\n', 1, "must be a table"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ExpectationsError) as raised:
        load_expectations(path, KNOWN)
    message = str(raised.value)
    assert message.startswith(f"{path}:{line}"), message
    assert words in message


def test_missing_and_binary_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ExpectationsError, match="no such expectations file"):
        load_expectations(tmp_path / "absent.toml", KNOWN)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ExpectationsError, match=r"binary\.toml: not a text file"):
        load_expectations(binary, KNOWN)


def test_defaults_to_the_installed_spec() -> None:
    shipped = Path(__file__).parents[1] / "impls" / "expectations" / "mygrad.toml"
    assert load_expectations(shipped).entries


@pytest.mark.parametrize("verdict", [Verdict.FAIL, Verdict.ERROR, Verdict.CRASH, Verdict.TIMEOUT])
def test_listed_failure_becomes_expected_failure_keeping_message(tmp_path: Path, verdict: Verdict) -> None:
    expectations = load_expectations(write(tmp_path, GOOD), KNOWN)
    gated = expectations.apply(outcome("rules.accumulate", verdict, message="w.grad: expected 10, got 5"))
    assert gated.verdict is Verdict.EXPECTED_FAILURE
    assert gated.message.startswith("w.grad: expected 10, got 5")
    assert "replaces .grad instead of adding" in gated.message
    assert gated.observations["expectation"]["was"] == verdict.value


def test_listed_case_that_passes_is_an_unexpected_pass(tmp_path: Path) -> None:
    expectations = load_expectations(write(tmp_path, GOOD), KNOWN)
    assert (
        expectations.apply(outcome("backward.non-scalar-message", Verdict.PASS)).verdict
        is Verdict.UNEXPECTED_PASS
    )
    assert expectations.apply(outcome("graph.value", Verdict.PASS)).verdict is Verdict.UNEXPECTED_PASS


def test_unsupported_entry_covers_errors_but_not_wrong_answers(tmp_path: Path) -> None:
    expectations = load_expectations(write(tmp_path, GOOD), KNOWN)
    assert expectations.apply(outcome("graph.value", Verdict.ERROR)).verdict is Verdict.UNSUPPORTED
    wrong = expectations.apply(outcome("graph.value", Verdict.FAIL))
    assert wrong.verdict is Verdict.FAIL
    assert "list it under fail" in wrong.message


def test_unlisted_cases_and_other_engines_are_untouched(tmp_path: Path) -> None:
    expectations = load_expectations(write(tmp_path, GOOD), KNOWN)
    for original in (
        outcome("graph.value", Verdict.FAIL, engine="other"),
        outcome("rules.other", Verdict.FAIL),
    ):
        assert expectations.apply(original) is original


def test_exact_entry_wins_over_glob(tmp_path: Path) -> None:
    text = '[mine.fail]\n"backward.*-message" = "glob"\n"backward.second-call-message" = "exact"\n'
    expectations = load_expectations(write(tmp_path, text), KNOWN)
    assert expectations.lookup("mine", "backward.second-call-message").reason == "exact"
    assert expectations.lookup("mine", "backward.non-scalar-message").reason == "glob"


def test_unused_entries_are_reported(tmp_path: Path) -> None:
    expectations = load_expectations(write(tmp_path, GOOD), KNOWN)
    unused = expectations.unused([outcome("rules.accumulate", Verdict.FAIL)])
    assert {e.pattern for e in unused} == {"backward.*-message", "graph.value"}


def test_draft_lists_non_passing_cases_and_loads_back(tmp_path: Path) -> None:
    outcomes = [
        outcome("rules.accumulate", Verdict.FAIL, message='w.grad: expected "10"\nmore'),
        outcome("graph.value", Verdict.PASS),
        outcome("backward.second-call-message", Verdict.UNSUPPORTED),
        outcome("backward.non-scalar-message", Verdict.ERROR, engine="other engine", message="TypeError: x"),
    ]
    text = draft_expectations(outcomes)
    document = tomllib.loads(text)
    assert document["mine"]["fail"] == {
        "rules.accumulate": {"kind": "wrong-value", "reason": 'w.grad: expected "10"'}
    }
    assert document["other engine"]["fail"] == {
        "backward.non-scalar-message": {"kind": "wrong-error-type", "reason": "TypeError: x"}
    }
    assert "1 case(s) unsupported" in text
    reloaded = load_expectations(write(tmp_path, text), KNOWN)
    assert len(reloaded.entries) == 2


def test_draft_of_a_gated_run_keeps_the_reasons(tmp_path: Path) -> None:
    expectations = load_expectations(write(tmp_path, GOOD), KNOWN)
    gated = expectations.apply_all(
        [outcome("rules.accumulate", Verdict.FAIL), outcome("graph.value", Verdict.ERROR)]
    )
    document = tomllib.loads(draft_expectations(gated))
    assert document["mine"]["fail"] == {
        "rules.accumulate": {"kind": "wrong-value", "reason": "replaces .grad instead of adding"}
    }
    assert document["mine"]["unsupported"] == {
        "graph.value": {"kind": "missing-feature", "reason": "cannot print values"}
    }


# -- kinds ------------------------------------------------------------------------

KINDED = """\
[mine.fail]
"rules.accumulate" = { kind = "wrong-value", reason = "replaces .grad instead of adding" }
"backward.*-message" = { reason = "raises with its own wording" }

[mine.unsupported]
"graph.value" = { kind = "missing-feature", reason = "cannot print values" }
"""


def failed(case: str, expected: object, actual: object, level: str = "core") -> Outcome:
    return Outcome(
        case=case, engine="mine", verdict=Verdict.FAIL, expected=expected, actual=actual, level=level
    )


def test_entries_carry_their_kind_or_none(tmp_path: Path) -> None:
    expectations = load_expectations(write(tmp_path, KINDED), KNOWN)
    kinds = {e.pattern: e.kind for e in expectations.entries}
    assert kinds == {
        "rules.accumulate": Kind.WRONG_VALUE,
        "backward.*-message": Kind.UNSPECIFIED,
        "graph.value": Kind.MISSING_FEATURE,
    }
    assert all(isinstance(e.reason, str) for e in expectations.entries)


def test_gated_outcome_records_declared_or_inferred_kind(tmp_path: Path) -> None:
    expectations = load_expectations(write(tmp_path, KINDED), KNOWN)
    declared = expectations.apply(failed("rules.accumulate", [10.0], [5.0]))
    assert declared.observations["expectation"]["kind"] == "wrong-value"
    assert declared.observations["expectation"]["kind_declared"] is True
    wording = failed(
        "backward.second-call-message",
        "RuntimeError matching 'a second time'",
        "RuntimeError: graph already freed",
        level="pytorch",
    )
    inferred = expectations.apply(wording).observations["expectation"]
    assert inferred["kind"] == "message-text" and inferred["kind_declared"] is False


@pytest.mark.parametrize(
    ("made", "kind"),
    [
        (failed("c", [1.0], [2.0]), Kind.WRONG_VALUE),
        (failed("c", None, [2.0]), Kind.WRONG_VALUE),
        (failed("c", "RuntimeError", "no exception (returned None)"), Kind.WRONG_ERROR_TYPE),
        (failed("c", "RuntimeError matching 'x'", "ValueError: y"), Kind.WRONG_ERROR_TYPE),
        (failed("c", "RuntimeError or TypeError matching 'x'", "TypeError: y"), Kind.MESSAGE_TEXT),
        (outcome("c", Verdict.ERROR, message="NotImplementedError: no cat"), Kind.MISSING_FEATURE),
        (outcome("c", Verdict.ERROR, message="AttributeError: 'T' has no 'stack'"), Kind.MISSING_FEATURE),
        (outcome("c", Verdict.ERROR, message="ValueError: shapes"), Kind.WRONG_ERROR_TYPE),
        (outcome("c", Verdict.UNSUPPORTED, message="lacks nn"), Kind.MISSING_FEATURE),
        (outcome("c", Verdict.CRASH, message="worker died"), Kind.UNSPECIFIED),
    ],
)
def test_kind_is_inferred_from_what_the_run_recorded(made: Outcome, kind: Kind) -> None:
    assert infer_kind(made) is kind


TYPED = """\
[mine.fail]
"rules.accumulate" = { kind = "wrong-value", reason = "replaces .grad instead of adding" }
"backward.second-call-message" = { kind = "message-text", reason = "its own wording" }
"backward.non-scalar-message" = { kind = "wrong-error-type", reason = "raises TypeError" }
"graph.value" = "prints its own way"
"""


@pytest.mark.parametrize(
    ("made", "accepted"),
    [
        (failed("rules.accumulate", [10.0], [5.0]), True),
        (outcome("rules.accumulate", Verdict.ERROR, message="ValueError: shapes"), False),
        (outcome("rules.accumulate", Verdict.TIMEOUT, message="over 300 s"), False),
        (outcome("rules.accumulate", Verdict.CRASH, message="worker died"), False),
        (failed("backward.second-call-message", "RuntimeError matching 'x'", "RuntimeError: y"), True),
        (failed("backward.second-call-message", "RuntimeError matching 'x'", "ValueError: y"), False),
        (failed("backward.non-scalar-message", "RuntimeError matching 'x'", "TypeError: y"), True),
        (outcome("backward.non-scalar-message", Verdict.ERROR, message="TypeError: y"), True),
        (failed("backward.non-scalar-message", [1.0], [2.0]), False),
        (outcome("graph.value", Verdict.TIMEOUT, message="over 300 s"), True),  # no kind: any non-pass
    ],
)
def test_an_entry_of_a_declared_kind_accepts_only_that_kind(
    tmp_path: Path, made: Outcome, accepted: bool
) -> None:
    """A wrong-value entry covering an error or a timeout would report a divergence the run never saw."""
    gated = load_expectations(write(tmp_path, TYPED), KNOWN).apply(made)
    if accepted:
        assert gated.verdict is Verdict.EXPECTED_FAILURE
        return
    assert gated.verdict is made.verdict  # the raw verdict stands: the gate fails on it
    assert "but it is a " in gated.message and "not the divergence the entry accepts" in gated.message
    assert "expectation" not in gated.observations


def test_draft_files_a_missing_feature_under_unsupported_never_fail(tmp_path: Path) -> None:
    text = draft_expectations(
        [
            outcome("graph.value", Verdict.ERROR, message="NotImplementedError: adapter maps no repr"),
            outcome("rules.accumulate", Verdict.ERROR, message="ValueError: bad shape"),
        ]
    )
    document = tomllib.loads(text)
    assert document["mine"]["unsupported"] == {
        "graph.value": {"kind": "missing-feature", "reason": "NotImplementedError: adapter maps no repr"}
    }
    assert document["mine"]["fail"]["rules.accumulate"]["kind"] == "wrong-error-type"
    reloaded = load_expectations(write(tmp_path, text), KNOWN)
    assert {e.pattern: e.listed for e in reloaded.entries} == {
        "graph.value": Listed.UNSUPPORTED,
        "rules.accumulate": Listed.FAIL,
    }


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[mine.fail]\n"graph.value" = { kind = "typo", reason = "r" }\n', "unknown kind 'typo'"),
        (
            '[mine.unsupported]\n"graph.value" = { kind = "wrong-value", reason = "r" }\n',
            "cannot be listed under unsupported",
        ),
        ('[mine.fail]\n"graph.value" = { kind = "wrong-value" }\n', "dotted key"),
    ],
)
def test_malformed_kinds_name_file_and_line(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ExpectationsError, match=words) as raised:
        load_expectations(write(tmp_path, text), KNOWN)
    assert f"{tmp_path / 'expect.toml'}:2" in str(raised.value)
