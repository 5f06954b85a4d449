"""Output folders: npusim writes only where its marker says it may, atomically, and never
loses a user's file or its own previous complete result (issue 18, "Output safety")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from npusim import outdir
from npusim.errors import ConfigError, ResultsError
from npusim.outdir import MARKER_NAME, FolderKind, folder_lock, write_file, write_run_folder
from npusim.sweep import run_sweep

RUN = ["run", "-w", "mlp", "--fidelity", "analytic", "--no-plots", "-q"]
SWEEP = """
name: {name}
scenario: lpddr5_51gbps_4mib
workloads: [gemv_4096]
axes:
  precision: [int8]
"""


def npusim(*args: str, cwd: Path) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "npusim", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)  # fmt: skip
    return proc.returncode, proc.stderr


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes), symbolic links as their target."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(folder))] = os.readlink(path).encode()
        elif path.is_file():
            found[str(path.relative_to(folder))] = path.read_bytes()
    return found


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


def test_a_folder_without_the_marker_is_refused_whatever_its_file_names(tmp_path: Path) -> None:
    out = tmp_path / "d"
    (out / "holiday.png").mkdir(parents=True)
    (out / "holiday.png" / "IMG.jpg").write_text("x")
    (out / "summary.json").write_text("mine")
    before = tree(tmp_path)
    code, stderr = npusim(*RUN, "--out", "d", cwd=tmp_path)
    assert code == 2 and stderr.count("\n") == 1 and "Traceback" not in stderr
    assert f"no {MARKER_NAME} marker" in stderr
    assert tree(tmp_path) == before


def test_out_dot_in_an_empty_folder_writes_into_it_and_keeps_it(tmp_path: Path) -> None:
    here = tmp_path / "here"
    here.mkdir()
    inode = here.stat().st_ino
    for _ in range(2):  # the second run replaces its own files
        code, stderr = npusim(*RUN, "--out", ".", cwd=here)
        assert code == 0, stderr
        assert here.stat().st_ino == inode  # the folder the shell stands in is the same one
    assert sorted(os.listdir(here)) == [MARKER_NAME, "layers.csv", "resolved_config.yaml",
                                        "summary.json"]  # fmt: skip
    assert os.listdir(tmp_path) == ["here"]  # nothing staged beside it


def test_out_dot_in_a_users_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep")
    code, stderr = npusim(*RUN, "--out", ".", cwd=tmp_path)
    assert code == 2 and stderr.count("\n") == 1 and "notes.txt" in stderr
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_a_dangling_symlink_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere" / "target")
    for out in ("link", "link/sub"):
        code, stderr = npusim(*RUN, "--out", out, cwd=tmp_path)
        assert code == 2 and "symbolic link to a missing target" in stderr, stderr
    assert sorted(os.listdir(tmp_path)) == ["link"]


def test_a_marked_run_folder_with_a_users_file_added_is_refused(tmp_path: Path) -> None:
    out = write_run_folder(tmp_path / "r", {"summary.json": "{}"})
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ResultsError, match=r"did not write \(notes.txt\)"):
        write_run_folder(out, {"summary.json": "{}"})
    assert (out / "notes.txt").read_text() == "mine"


def test_a_sweep_folder_is_not_a_run_folder(tmp_path: Path) -> None:
    outdir.claim_folder(tmp_path / "s", FolderKind.SWEEP)
    (tmp_path / "s" / "results.sqlite").write_text("")
    with pytest.raises(ResultsError, match="npusim sweep folder, not a run folder"):
        write_run_folder(tmp_path / "s", {"summary.json": "{}"})


def test_replacing_a_run_leaves_only_the_new_files(tmp_path: Path) -> None:
    write_run_folder(tmp_path / "r", {"summary.json": "1", "timeline.csv": "t"})
    write_run_folder(tmp_path / "r", {"summary.json": "2"})
    assert tree(tmp_path) == {f"r/{MARKER_NAME}": b"npusim-output 1 run\nsummary.json\n",
                              "r/summary.json": b"2"}  # fmt: skip


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_an_interrupt_between_the_renames_keeps_the_previous_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    write_run_folder(tmp_path / "r", {"summary.json": "previous"})
    if not exchange:
        monkeypatch.setattr(outdir, "_exchange", lambda a, b: False)
    real_replace = os.replace
    interrupts = []

    def interrupted_replace(src: str | Path, dst: str | Path) -> None:
        if Path(dst) == tmp_path / "r" and not interrupts:  # the new folder moving in
            interrupts.append(dst)
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(outdir.os, "replace", interrupted_replace)
    try:
        write_run_folder(tmp_path / "r", {"summary.json": "new"})
    except KeyboardInterrupt:
        assert not exchange
    monkeypatch.setattr(outdir.os, "replace", real_replace)
    expected = "new" if exchange else "previous"  # one atomic exchange cannot be split
    assert (tmp_path / "r" / "summary.json").read_text() == expected
    assert os.listdir(tmp_path) == ["r"]


def test_leftovers_of_a_killed_run_are_cleaned_and_a_retired_result_restored(
    tmp_path: Path,
) -> None:
    pid = dead_pid()
    staged = tmp_path / f".r.npusim-new-{pid}-abc"  # killed while writing its files
    staged.mkdir()
    (staged / MARKER_NAME).write_text("npusim-output 1 run\nsummary.json\n")
    (tmp_path / f".r.npusim-new-{pid}-empty").mkdir()  # killed right after mkdtemp
    retired = tmp_path / f".r.npusim-old-{pid}-xyz" / "r"  # killed between the renames
    retired.mkdir(parents=True)
    (retired / MARKER_NAME).write_text("npusim-output 1 run\nsummary.json\n")
    (retired / "summary.json").write_text("previous")
    users = tmp_path / ".r.npusim-new-1-mine"  # not npusim's: no marker, not empty
    users.mkdir()
    (users / "x").write_text("x")
    write_run_folder(tmp_path / "r", {"summary.json": "new"})
    assert sorted(os.listdir(tmp_path)) == [".r.npusim-new-1-mine", "r"]
    assert (tmp_path / "r" / "summary.json").read_text() == "new"


def test_an_atomic_file_write_interrupted_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plot = tmp_path / "energy.svg"
    plot.write_text("<svg>old</svg>")

    def killed(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(outdir.os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        write_file(plot, "<svg>half")
    assert os.listdir(tmp_path) == ["energy.svg"]
    assert plot.read_text() == "<svg>old</svg>"


def test_stale_plot_temporaries_are_removed_by_the_next_report(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(SWEEP.format(name="s"))
    run_sweep(tmp_path / "s.yaml", tmp_path / "o", jobs=1, report=False)
    (tmp_path / "o" / "plots").mkdir()
    (tmp_path / "o" / "plots" / ".energy-gemv_4096.svg.npusim-tmp-99").write_text("<svg")
    (tmp_path / "o" / ".index.html.npusim-tmp-99").write_text("<html")
    code, stderr = npusim("plot", "o", cwd=tmp_path)
    assert code == 0, stderr
    assert not [p for p in (tmp_path / "o").rglob("*npusim-tmp*")]


def test_sweep_out_refuses_a_users_folder(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(SWEEP.format(name="s"))
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("my page")
    code, stderr = npusim("sweep", "s.yaml", "-j", "1", "--out", "site", cwd=tmp_path)
    assert code == 2 and stderr.count("\n") == 1 and "index.html" in stderr, stderr
    assert tree(tmp_path / "site") == {"index.html": b"my page"}
    code, stderr = npusim("plot", "site", cwd=tmp_path)
    assert code == 2 and stderr.count("\n") == 1 and "index.html" in stderr, stderr
    assert tree(tmp_path / "site") == {"index.html": b"my page"}


@pytest.mark.parametrize("name", ["../../x", "/tmp/npusim-escape", "a/b", "..", ".hidden",
                                  "x" * 101])  # fmt: skip
def test_a_sweep_name_cannot_leave_reports(tmp_path: Path, name: str) -> None:
    (tmp_path / "s.yaml").write_text(SWEEP.format(name=f"'{name}'"))
    with pytest.raises(ConfigError) as caught:
        run_sweep(tmp_path / "s.yaml", jobs=1, report=False)
    assert [p.path for p in caught.value.problems] == ["name"]
    assert os.listdir(tmp_path) == ["s.yaml"]


def test_a_second_sweep_on_a_folder_in_use_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(SWEEP.format(name="s"))
    folder = outdir.claim_folder(tmp_path / "o", FolderKind.SWEEP)
    in_use = pytest.raises(ResultsError, match="in use by another npusim sweep")
    with folder_lock(folder), in_use:  # a first sweep is running
        run_sweep(tmp_path / "s.yaml", folder, jobs=1, report=False)
    assert not (folder / "results.sqlite").exists()
    assert run_sweep(tmp_path / "s.yaml", folder, jobs=1, report=False).ran == 1


INTERRUPT_AFTER_MAIN = """
import os, signal, sys, time
from npusim.cli import main
sys.argv = ["npusim", *sys.argv[1:]]
code = main()
os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the interpreter winds down
time.sleep(0.2)
sys.exit(code)
"""


def test_an_interrupt_after_the_results_are_written_does_not_kill_silently(
    tmp_path: Path,
) -> None:
    code, stderr = npusim_script(INTERRUPT_AFTER_MAIN, *RUN, "--out", "o", cwd=tmp_path)
    assert code == 0, stderr
    assert (tmp_path / "o" / "summary.json").is_file()


def npusim_script(script: str, *args: str, cwd: Path) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)  # fmt: skip
    return proc.returncode, proc.stderr


def test_error_lines_escape_control_characters(tmp_path: Path) -> None:
    (tmp_path / "a\nb").write_text("mine")
    code, stderr = npusim(*RUN, "--out", "a\nb", cwd=tmp_path)
    assert code == 2 and stderr == "npusim: error: a\\nb is a file; --out needs a folder\n"


def test_a_name_the_file_system_refuses_is_a_results_error(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match=r"cannot use .* as an output folder: File name too"):
        outdir.out_folder(tmp_path / ("a" * 300), FolderKind.RUN)


def test_a_crafted_marker_cannot_make_npusim_touch_files_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    (tmp_path / "victim.txt").write_text("keep")
    (here / MARKER_NAME).write_text("npusim-output 1 run\n../victim.txt\n.\n..\n")
    monkeypatch.chdir(here)  # the current folder is written in place, old files unlinked
    write_run_folder(".", {"summary.json": "{}"})
    assert (tmp_path / "victim.txt").read_text() == "keep"
    assert sorted(os.listdir(here)) == [MARKER_NAME, "summary.json"]
