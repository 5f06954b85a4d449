"""Seeded fuzzing of npusim's command line over every input kind (issue 18).

Each case is drawn from ``random.Random(f"{seed}:{index}")``, so any case can be replayed
alone: a kind (scenario, workload or sweep YAML, DRAM/cache trace, .npy tensor, .npz
dataset, command-line options), its files and its ``npusim`` arguments. It runs in a forked
child (the parent has imported npusim once, so a case costs no interpreter start) in a fresh
temporary folder, under a memory limit (``RLIMIT_AS``) and a timeout, and is classified:

``error``  exit 2 with one line ``npusim: error: ...`` (bad input, refused cleanly; for
           ``npusim validate``: one ``error:`` line per problem and ``invalid: FILE``)
``usage``  exit 2 from argparse (usage line and error line)
``ok``     exit 0, and any ``summary.json`` written is strict JSON (no ``Infinity``/``NaN``)
``exit-1`` exit 1 (e.g. a sweep whose points failed with a named error)
``traceback``, ``multiline``, ``bad-output``, ``timeout``, ``signal``, ``other``: bugs, and
``data-loss``: a file the case started with was changed or removed, or a dangling symbolic
link's target created (whatever the exit code).

    python tools/fuzz.py --seed 1 --minutes 10 --save fuzz-failures   # a developer run
    python tools/fuzz.py --seed 1 --replay 17                          # one case again

Exit code 0 when no case is a bug, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz_inputs import GENERATORS  # the generators beside this script

BAD = ("traceback", "multiline", "bad-output", "data-loss", "timeout", "signal", "other")
LINK = b"\0symlink:"  # a case file with this content is a symbolic link to the rest
KINDS = tuple(GENERATORS)


@dataclass(frozen=True)
class Case:
    """One fuzz case: which generator made it, its files (name -> bytes) and argv."""

    index: int
    kind: str
    argv: tuple[str, ...]
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """How a case ended: its class, exit code (or -signal) and the end of its stderr."""

    case: Case
    verdict: str
    code: int
    stderr: str


def make_case(seed: int, index: int, kinds: tuple[str, ...] = KINDS) -> Case:
    """The case ``index`` of ``seed`` (deterministic: the same arguments, the same case)."""
    rng = random.Random(f"{seed}:{index}")
    kind = rng.choice(kinds)
    argv, files = GENERATORS[kind](rng)
    return Case(index, kind, tuple(argv), files)


def run_case(case: Case, timeout_s: float, memory_bytes: int) -> Outcome:
    """Run ``case`` in a forked child in a fresh temporary folder and classify it."""
    with tempfile.TemporaryDirectory(prefix="npusim-fuzz-") as tmp:
        folder = Path(tmp)
        for name, content in case.files.items():
            _place(folder / name, content)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(case.argv, folder, memory_bytes)
        code, timed_out = _wait(pid, timeout_s)
        stderr = (folder / ".fuzz-stderr").read_text(errors="replace")
        verdict = classify(code, stderr, timed_out, folder, set(case.files))
        if not _inputs_intact(folder, case.files) and verdict not in ("timeout", "signal"):
            verdict = "data-loss"
    return Outcome(case, verdict, code, stderr[-2000:])


def _place(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if content.startswith(LINK):
        os.symlink(content[len(LINK) :].decode(), path)
    else:
        path.write_bytes(content)


def _inputs_intact(folder: Path, files: dict[str, bytes]) -> bool:
    """Every file the case started with is still there, unchanged (npusim may read a user's
    files and write new ones, never alter or remove one), and no link target was created."""
    owned = {str(Path(n).parent) for n in files if Path(n).name == ".npusim-output"}
    for name, content in files.items():
        path = folder / name
        if str(Path(name).parent) in owned:
            continue  # a folder with npusim's marker is npusim's to replace
        if content.startswith(LINK):
            target = content[len(LINK) :].decode()
            if not path.is_symlink() or os.readlink(path) != target or path.exists():
                return False
        elif not path.is_file() or path.is_symlink() or path.read_bytes() != content:
            return False
    return True


def _child(argv: tuple[str, ...], folder: Path, memory_bytes: int) -> None:
    """The forked child: limits, redirections, ``npusim.cli.main``; never returns."""
    code = 1
    try:
        os.setsid()  # its own process group: a timeout kills it and anything it started
        os.chdir(folder)
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for fd, name in ((1, ".fuzz-stdout"), (2, ".fuzz-stderr")):
            os.dup2(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - until _exit
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        from npusim.cli import main

        code = main(list(argv))
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # what escapes main is what a user would see as a traceback
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _wait(pid: int, timeout_s: float) -> tuple[int, bool]:
    """(exit code, or -signal; timed out) of child ``pid``, killed after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    delay = 0.002
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    os.killpg(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), True


def classify(
    code: int, stderr: str, timed_out: bool, folder: Path, inputs: Collection[str] = ()
) -> str:
    """The verdict of a finished case (see the module docstring)."""
    lines = stderr.splitlines()
    if timed_out:
        return "timeout"
    if "Traceback (most recent call last)" in stderr or "internal error" in stderr:
        return "traceback"
    if code < 0:
        return "signal"
    if code == 0:
        return "ok" if _strict_summaries(folder, inputs) else "bad-output"
    if code == 2 and len(lines) == 1 and lines[0].startswith("npusim: error: "):
        return "error"
    if code == 2 and lines and all(line.startswith(("error: ", "invalid: ")) for line in lines):
        return "error"  # npusim validate: one line per problem, then one per invalid file
    if code == 2 and lines and lines[0].startswith("usage: ") and ": error: " in lines[-1]:
        return "usage"
    if code == 1:
        return "exit-1"
    return "multiline" if code == 2 else "other"


def _strict_summaries(folder: Path, inputs: Collection[str]) -> bool:
    """Every summary.json npusim wrote under ``folder`` (not one of the case's ``inputs``)
    parses as strict JSON (no Infinity or NaN)."""

    def refuse(name: str) -> None:
        raise ValueError(name)

    for path in folder.rglob("summary.json"):
        if str(path.relative_to(folder)) in inputs:
            continue
        try:
            json.loads(path.read_text(), parse_constant=refuse)
        except (ValueError, UnicodeDecodeError):
            return False
    return True


def fuzz(
    seed: int,
    cases: int | None = None,
    minutes: float | None = None,
    kinds: tuple[str, ...] = KINDS,
    timeout_s: float = 30.0,
    memory_mib: int = 3072,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run cases 0, 1, ... of ``seed`` until ``cases`` ran or ``minutes`` passed."""
    _preload()
    stop_at = None if minutes is None else time.monotonic() + 60 * minutes
    outcomes = []
    index = 0
    while (cases is None or index < cases) and (stop_at is None or time.monotonic() < stop_at):
        outcome = run_case(make_case(seed, index, kinds), timeout_s, memory_mib * 2**20)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
        index += 1
    return outcomes


def _preload() -> None:
    """Import what the cases use once, in the parent, so each forked case starts warm."""
    for module in ("npusim.cli", "npusim.config", "npusim.workload", "npusim.engine.analytic",
                   "npusim.quant", "npusim.sweep.runner"):  # fmt: skip
        with contextlib.suppress(Exception):  # a broken module shows in the cases using it
            __import__(module)


def save_case(outcome: Outcome, folder: Path) -> Path:
    """Write a case's files, command line and stderr to ``folder/case-<index>/``."""
    where = folder / f"case-{outcome.case.index}"
    where.mkdir(parents=True, exist_ok=True)
    for name, content in outcome.case.files.items():
        _place(where / name, content)
    command = " ".join(_quote(a) for a in ("npusim", *outcome.case.argv))
    (where / "command.sh").write_text(f"{command}\n")
    (where / "stderr.txt").write_text(outcome.stderr)
    return where


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg) if arg.isprintable() else "$" + repr(arg).replace('"', "'")


def describe(outcome: Outcome) -> str:
    """One line: index, kind, verdict, command and the last stderr line (shortened)."""
    command = " ".join(_quote(a) for a in outcome.case.argv)
    last = (outcome.stderr.strip().splitlines() or [""])[-1]
    return (f"case {outcome.case.index} [{outcome.case.kind}] {outcome.verdict} "
            f"(exit {outcome.code}): npusim {command[:200]} -> {last[:200]}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """``python tools/fuzz.py``; see the module docstring."""
    parser = argparse.ArgumentParser(description="Seeded fuzzing of the npusim CLI.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", type=int, help="number of cases (default: until --minutes)")
    parser.add_argument("--minutes", type=float, help="stop drawing cases after this long")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated input kinds")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per case")
    parser.add_argument("--memory-mib", type=int, default=3072, help="address-space limit")
    parser.add_argument("--save", type=Path, help="write each bug's files here")
    parser.add_argument("--replay", type=int, help="run only this case and show it")
    args = parser.parse_args(argv)
    kinds = tuple(k for k in args.kinds.split(",") if k)
    if args.replay is not None:
        case = make_case(args.seed, args.replay, kinds)
        print(yaml.safe_dump({"argv": list(case.argv), "files": sorted(case.files)}))
        outcome = run_case(case, args.timeout, args.memory_mib * 2**20)
        print(describe(outcome), outcome.stderr, sep="\n")
        return int(outcome.verdict in BAD)
    if args.cases is None and args.minutes is None:
        parser.error("give --cases or --minutes")

    def report(outcome: Outcome) -> None:
        if outcome.verdict in BAD:
            print(describe(outcome), flush=True)
            if args.save is not None:
                save_case(outcome, args.save)

    outcomes = fuzz(args.seed, args.cases, args.minutes, kinds, args.timeout, args.memory_mib,
                    report)  # fmt: skip
    counts = Counter((o.case.kind, o.verdict) for o in outcomes)
    print(f"{len(outcomes)} cases, seed {args.seed}: "
          f"{dict(sorted(Counter(o.verdict for o in outcomes).items()))}")  # fmt: skip
    for kind in kinds:
        print(f"  {kind}: {dict(sorted((v, n) for (k, v), n in counts.items() if k == kind))}")
    return int(any(o.verdict in BAD for o in outcomes))


if __name__ == "__main__":
    raise SystemExit(main())
