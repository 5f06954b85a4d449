"""Every command and file README.md shows runs (issue 15), so the README cannot drift.

Files: a fenced block right after ``<!-- file: NAME -->`` is written to NAME in a scratch
folder, and ``$ cat NAME`` in a transcript does the same. Commands: each ``npusim`` line of a
``bash`` block runs in that folder, in README order; each ``$ npusim`` line of a transcript
runs too, and the lines under it must be its exact output. Lighter substitutions, each with
its reason, are in :data:`LIGHTER`; lines that are not npusim (``pip``, ``pytest``, opening a
browser) and the ONNX section (it needs the optional onnx package and a model file) are not
run.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from npusim.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"

# README command -> what the test runs instead, and why. The bundled sweep's 48 points take
# about a minute on these machines (its cycle variant many), and drawing a sweep's 14 plots
# about 25 s under load: the same commands run on the README's own 4-point sweep file,
# my_sweep.yaml, without the report. test_formats expands all 48 points of the bundled sweep
# (`npusim validate bitwidth`), test_packaging finds it by name, test_plots and
# test_report_html draw and check the plots and the HTML report.
LIGHTER = {
    "npusim sweep bitwidth --jobs 2": "npusim sweep my_sweep.yaml --jobs 2 --no-report",
    "npusim sweep bitwidth --fidelity cycle --jobs 2": "npusim sweep my_sweep.yaml "
    "--fidelity cycle --jobs 2 --no-report",
    "npusim results reports/bitwidth --csv bitwidth.csv": "npusim results reports/my_sweep "
    "--csv bitwidth.csv",
}
SKIPPED = ("model.onnx",)  # the ONNX example needs `pip install npusim[onnx]` and a model


def blocks() -> list[tuple[str, str, str]]:
    """(language, preceding marker line, body) of every fenced block, in order."""
    found = re.finditer(r"(?:<!-- file: (\S+) -->\n)?```(\w*)\n(.*?)```", README.read_text(),
                        re.S)  # fmt: skip
    return [(m.group(2), m.group(1) or "", m.group(3)) for m in found]


def bash_commands() -> list[str]:
    lines = []
    for language, _, body in blocks():
        if language == "bash":
            lines += [line.split("  #")[0].strip() for line in body.splitlines()]
    return [line for line in lines if line.startswith("npusim ")]


def transcripts() -> list[list[tuple[str, list[str]]]]:
    """Each untyped/console block as (command, output lines) pairs."""
    result = []
    for language, _, body in blocks():
        if language not in ("", "console") or not body.startswith("$ "):
            continue
        pairs: list[tuple[str, list[str]]] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                pairs.append((line[2:], []))
            else:
                pairs[-1][1].append(line)
        result.append(pairs)
    return result


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch folder with the README's files and the inputs its commands name."""
    root = tmp_path_factory.mktemp("readme")
    for _, name, body in blocks():
        if name:
            (root / name).write_text(body)
    rng = np.random.default_rng(0)
    np.save(root / "weights.npy", rng.standard_normal((64, 64)).astype(np.float32))
    (root / "trace.txt").write_text("".join(f"LD {i * 64:#x}\n" for i in range(2000)))
    return root


def test_the_readme_declares_its_files(folder: Path) -> None:
    assert {"my_npu.yaml", "my_net.yaml", "my_sweep.yaml"} <= {p.name for p in folder.iterdir()}
    assert main(["validate", *(str(folder / n) for n in ("my_npu.yaml", "my_net.yaml",
                                                         "my_sweep.yaml"))]) == 0  # fmt: skip


def run_in(folder: Path, command: str, monkeypatch: pytest.MonkeyPatch) -> int:
    command = LIGHTER.get(command, command)
    args = shlex.split(command)[1:]
    redirect = args.index(">") if ">" in args else None
    if args[0] == "run" and "--fidelity" not in args:
        # suite time: every README run at analytic fidelity (cycle runs: test_results_cli)
        args += ["--fidelity", "analytic", "--no-plots"]
    monkeypatch.chdir(folder)
    if redirect is None:
        return main(args)
    target = folder / args[redirect + 1]
    proc = subprocess.run([sys.executable, "-m", "npusim", *args[:redirect]], cwd=folder,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    target.write_text(proc.stdout)
    return proc.returncode


def test_every_bash_command_of_the_readme_runs(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = bash_commands()
    assert "npusim run my_npu.yaml -w my_net.yaml --out reports/mine" in commands
    for command in commands:
        if any(skip in command for skip in SKIPPED):
            continue
        code = run_in(folder, command, monkeypatch)
        out = capsys.readouterr()
        assert code == 0, f"{command}: {out.err[-500:]}"
    # the reproduce example really reproduced the run it names
    import json

    first = json.loads((folder / "reports" / "mine" / "summary.json").read_text())
    assert first["workload"] == "my_net" and first["workload_params"]["seq_len"] == 256
    assert first["precision_label"] == "int8+fc1:w4a8"


def test_every_transcript_prints_what_the_readme_shows(folder: Path) -> None:
    checked = 0
    for pairs in transcripts():
        for command, output in pairs:
            if command.startswith("cat "):
                (folder / command[4:]).write_text("\n".join(output) + "\n")
                continue
            if not command.startswith("npusim ") or any(s in command for s in SKIPPED):
                continue
            args = [sys.executable, "-m", "npusim", *shlex.split(command)[1:]]
            proc = subprocess.run(args, cwd=folder, capture_output=True, text=True, timeout=120)
            if output:
                shown = (proc.stdout + proc.stderr).splitlines()
                assert [line.rstrip() for line in shown] == [line.rstrip() for line in output], (
                    command
                )
                checked += 1
    assert checked >= 3  # the --set typo, validate bad.yaml, npusim array


def test_every_top_level_summary_key_is_documented(tmp_path: Path) -> None:
    import json

    assert main(["run", "-q", "--no-plots", "-w", "mlp", "--fidelity", "analytic", "--set",
                 "sram.capacity=1 MiB", "--out", str(tmp_path / "o")]) == 0  # fmt: skip
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    text = README.read_text()
    section = text[text.index("## What a run writes") : text.index("## Fidelities")]
    missing = [key for key in summary if f"`{key}`" not in section]
    assert missing == []


def _key_names(value: object) -> set[str]:
    """Every key of a JSON value, nested ones included (a list of objects: its first)."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return _key_names(value[0])
    if not isinstance(value, dict):
        return set()
    return set(value).union(*(_key_names(inner) for inner in value.values()))


def test_every_nested_summary_key_is_documented(tmp_path: Path) -> None:
    # Cycle fidelity writes the most keys: per-layer memory-path figures and the dram block;
    # a frame rate adds the frame block.
    import json

    assert main(["run", "-q", "--no-plots", "-w", "mlp", "--fidelity", "cycle",
                 "--set", "frame_rate=30 Hz", "--out", str(tmp_path / "o")]) == 0  # fmt: skip
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    text = README.read_text()
    section = text[text.index("## What a run writes") : text.index("## Fidelities")]
    assert {"dma_read_bytes", "ACT2", "p99", "average_power_mw"} <= _key_names(summary)
    assert sorted(key for key in _key_names(summary) if f"`{key}`" not in section) == []


def readme_figures() -> object:
    import importlib.util

    path = README.parent / "tools" / "readme_figures.py"
    spec = importlib.util.spec_from_file_location("readme_figures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_names_every_figure_generator() -> None:
    tables = readme_figures().TABLES  # type: ignore[attr-defined]
    text = " ".join(README.read_text().split())
    names = re.search(r"by name: (.*?)\), except", text)
    assert names is not None
    listed = re.findall(r"`(\w+)`", names.group(1))
    assert sorted(listed) == sorted(tables), (
        "README's sentence 'by name: ...' must list tools/readme_figures.py's TABLES"
    )


def test_the_calibration_table_is_what_the_tool_prints(capsys: pytest.CaptureFixture[str]) -> None:
    readme_figures().calibration()  # type: ignore[attr-defined]
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    shown = [line.replace("**", "") for line in README.read_text().splitlines()
             if line.startswith("| ") and line.split("|")[1].strip() in
             ("calibration", "min-max", "percentile 99.99", "percentile 99.9", "entropy (KL)",
              "MSE search")]  # fmt: skip
    assert printed == shown


def test_the_accuracy_tables_cost_columns_are_a_current_run() -> None:
    """Task accuracy's precision table: each row's CNN time, DRAM reads and energy are a
    cycle run of digits_cnn now (energy_pj.total, the PHY included since schema 4), as
    ``tools/accuracy_tables.py precision`` prints them; the top-1 columns are the
    functional pass's, checked by tests/test_functional_*."""
    from npusim.config import load_scenario
    from npusim.simulate import simulate
    from npusim.workload import load_workload

    header = "| precision | CNN top-1 % |"
    lines = README.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = [line.split("|")[1:-1] for line in lines[start + 2 :] if line.startswith("| ")]
    rows = rows[: next((i for i, r in enumerate(rows) if len(r) != 8), len(rows))]
    assert len(rows) == 16  # 9 formats, 5 block-scaled ones, INT4 and INT2 affine
    affine = ["quantization.symmetric=false"]
    for cells in rows:
        label = cells[0].strip()  # "FP8 E4M3" is fp8_e4m3, "INT4 affine" int4
        precision = label.removesuffix(" affine").lower().replace(" ", "_")
        scenario = load_scenario(None, affine if "affine" in label else [], precision=precision)
        t = simulate(scenario, load_workload("digits_cnn"), "cycle").totals()
        now = [f"{t['time_s'] * 1e6:.2f}", f"{t['dram_read_bytes'] / 1024:.2f}",
               f"{t['energy_pj']['total'] / 1e3:.1f}"]  # fmt: skip
        assert [c.strip() for c in cells[5:]] == now, label
