"""Floats in summary.json, layers.csv and sweep exports carry no binary noise (issue 15)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from npusim.cli import main
from npusim.results import FLOAT_DIGITS, short_floats

NOISY = 0.0374363 + 1e-17  # 0.037436300000000006, a sum's binary noise


def test_short_floats_rounds_to_the_documented_digits_only() -> None:
    assert repr(NOISY) == "0.037436300000000006"
    assert short_floats({"a": [NOISY, 3], "b": 7}) == {"a": [0.0374363, 3], "b": 7}
    assert short_floats(123456789012345.6) == 123456789012000.0
    assert short_floats(1 / 3) == float("0." + "3" * FLOAT_DIGITS)


def longest_mantissa(text: str) -> int:
    digits = [len(m.replace(".", "").lstrip("0")) for m in
              re.findall(r"(?<![\w.])\d+\.\d+(?=e|\b)", text)]  # fmt: skip
    return max(digits, default=0)


def test_run_files_write_at_most_the_documented_digits(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["run", "-q", "--no-plots", "-w", "gpt2_decode", "--fidelity", "analytic",
                 "--out", str(out)]) == 0  # fmt: skip
    summary_text = (out / "summary.json").read_text()
    csv_text = (out / "layers.csv").read_text()
    assert 0 < longest_mantissa(summary_text) <= FLOAT_DIGITS
    assert 0 < longest_mantissa(csv_text) <= FLOAT_DIGITS
    assert json.loads(summary_text)["totals"]["time_s"] > 0
