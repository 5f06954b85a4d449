"""The fuzz harness (tools/fuzz.py) on a small fixed budget: every input kind, seeded, forked
per case with a memory limit and a timeout; no case may end in a traceback, a hang, a signal,
an error of several lines or a non-JSON summary (issue 18). Longer runs: README, Development.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def _fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("npusim_fuzz", TOOLS / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


fuzz = _fuzz()


def test_cases_are_reproducible_from_seed_and_index() -> None:
    assert fuzz.make_case(7, 3) == fuzz.make_case(7, 3)
    assert fuzz.make_case(7, 3) != fuzz.make_case(7, 4)


@pytest.mark.parametrize("kind", fuzz.KINDS)
def test_a_small_fuzz_budget_finds_no_bug(kind: str) -> None:
    outcomes = fuzz.fuzz(seed=18, cases=8, kinds=(kind,), timeout_s=120, memory_mib=4096)
    bugs = [fuzz.describe(o) for o in outcomes if o.verdict in fuzz.BAD]
    assert not bugs, "\n".join(bugs)
    assert len(outcomes) == 8


def test_the_harness_sees_a_traceback_a_hang_and_a_multiline_error(tmp_path: Path) -> None:
    verdicts = []
    for stderr, code in (("Traceback (most recent call last):\n  x\nKeyError: 1\n", 1),
                         ("npusim: error: a\nb\n", 2), ("npusim: error: fine\n", 2),
                         ("", 0), ("", -9)):  # fmt: skip
        verdicts.append(fuzz.classify(code, stderr, False, tmp_path))
    verdicts.append(fuzz.classify(-9, "", True, tmp_path))
    (tmp_path / "summary.json").write_text('{"energy_pj": Infinity}')
    verdicts.append(fuzz.classify(0, "", False, tmp_path))
    assert verdicts == ["traceback", "multiline", "error", "ok", "signal", "timeout",
                        "bad-output"]  # fmt: skip


def test_a_forked_case_is_classified_end_to_end() -> None:
    case = fuzz.Case(0, "options", ("quantize", "x.npy"), {"x.npy": b""})
    outcome = fuzz.run_case(case, timeout_s=120, memory_bytes=4 * 2**30)
    assert outcome.verdict == "error" and "cannot read tensor x.npy" in outcome.stderr


def test_the_harness_sees_lost_user_files(tmp_path: Path) -> None:
    files = {"d/mine.txt": b"keep", "lnk": fuzz.LINK + b"gone/target"}
    for name, content in files.items():
        fuzz._place(tmp_path / name, content)
    assert fuzz._inputs_intact(tmp_path, files)
    (tmp_path / "gone" / "target").mkdir(parents=True)  # the dangling link's target created
    assert not fuzz._inputs_intact(tmp_path, files)
    (tmp_path / "gone" / "target").rmdir()
    (tmp_path / "d" / "mine.txt").write_bytes(b"changed")
    assert not fuzz._inputs_intact(tmp_path, files)
