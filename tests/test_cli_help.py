"""Help texts are plain text and state their defaults (issue 15)."""

from __future__ import annotations

import re

import pytest

from npusim.cli import COMMANDS, main


def help_text(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_help_is_plain_text(capsys: pytest.CaptureFixture[str], command: str) -> None:
    text = help_text(capsys, command)
    assert "``" not in text and not re.search(r":(mod|class|func|data):`", text)


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys)
    for command, (_, line) in COMMANDS.items():
        assert re.search(rf"^\s+{command}\s+{re.escape(line[:30])}", text, re.M), command


def test_array_states_its_defaults_and_how_they_differ_from_the_default_scenario(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = " ".join(help_text(capsys, "array").split())
    for option in ("--rows ROWS PE rows (default: 32)", "--cols COLS PE columns (default: 32)",
                   "(default: ws)", "(default: int8)"):  # fmt: skip
        assert option in text
    assert "not the default scenario's 64 x 64 output-stationary array" in text


def test_dram_help_states_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    text = " ".join(help_text(capsys, "dram").split())
    assert "(default: LPDDR5_6400)" in text and "(default: 1)" in text
    assert "LD <addr> [<bytes>]" in text
