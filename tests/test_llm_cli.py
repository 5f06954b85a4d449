"""``npusim generate``: the JSON it writes, its table, and one-line errors (exit code 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from npusim.cli import main
from npusim.llm.kinds import LLM_KINDS
from npusim.llm.zoo import LlamaShape, write_llama_workload

TINY = LlamaShape(d=64, blocks=2, heads=2, kv_heads=2, head_dim=32, mlp=128, vocab=128)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_llama_workload(tmp_path_factory.mktemp("cli") / "t.yaml", "t", TINY))


def test_generate_writes_json_and_prints_the_phases(
    tiny: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "gen.json"
    argv = ["generate", "-w", tiny, "--prefill", "32", "--tokens", "6", "--batch", "2",
            "--prefill-chunk", "16", "--every-step", "--fidelity", "analytic",
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(out.read_text())
    assert (summary["prefill_tokens"], summary["decode_tokens"], summary["batch"]) == (32, 6, 2)
    assert summary["every_step"] is True
    assert summary["prefill_chunk_tokens"] == 16 and summary["prefill"]["passes"] == 2
    decode = summary["decode"]
    assert decode["tokens"] == 12 and len(decode["simulated"]) == 6
    assert set(decode["dram_bytes_by_kind"]) == set(LLM_KINDS)
    assert decode["tokens_per_s"] == pytest.approx(12 / decode["time_s"], rel=1e-9)
    assert summary["time_to_first_token_s"] == summary["prefill"]["time_s"]
    per_token = decode["energy_per_token_j"]
    assert per_token["total"] == pytest.approx(decode["energy_pj"]["total"] * 1e-12 / 12)
    text = capsys.readouterr().out
    assert "time to first token" in text and "every step simulated" in text
    assert str(out) in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--batch", "65"], "batch: expected at most 64"),
        (["--tokens", "0"], "tokens: expected an integer >= 1"),
        (["--samples", "1"], "samples: expected 0 (every step) or at least 2"),
        (["-w", "resnet50"], "resnet50 is not a decoder pass"),
        (["--set", "precision.kv_cache=int3"], "precision.kv_cache: expected one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = ["generate", "--fidelity", "analytic", "--out", str(tmp_path / "x.json"), *argv]
    assert main(full) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x.json").exists()


def test_an_out_path_that_is_a_folder_is_refused(
    tiny: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["generate", "-w", tiny, "--prefill", "8", "--tokens", "2", "--fidelity", "analytic",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is a folder; give a file name" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
