"""Named exceptions of npusim.

Every error a user can cause by bad input is a subclass of :class:`NpusimError`; the CLI turns
any of them into one line on stderr and exit code 2. Anything else escaping is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass


class NpusimError(Exception):
    """Base class of every user-facing npusim error (CLI exit code 2)."""


@dataclass(frozen=True)
class Problem:
    """One validation problem: where it is and what is wrong.

    ``path`` is the dotted key path (``dram.timing.nRCD``), ``file`` and ``line`` locate it in
    the source YAML when known.
    """

    path: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        key = f" {self.path}:" if self.path else ""
        return f"{where}:{key} {self.message}"


class ConfigError(NpusimError):
    """A scenario, workload or sweep file is invalid; carries every problem found at once."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self._text())

    def _text(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} problems:"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)

    def one_line(self, most: int = 5) -> str:
        """The first ``most`` problems joined on one line, for the CLI."""
        shown = "; ".join(str(p) for p in self.problems[:most])
        hidden = len(self.problems) - most
        return shown + (f"; and {hidden} more" if hidden > 0 else "")


class WorkloadError(NpusimError):
    """A workload is empty, has impossible shapes, or cannot be mapped onto the hardware."""


class QuantizationError(NpusimError):
    """A tensor or quantization spec cannot be quantized (NaN/Inf, empty, bad bits or axis)."""


class TraceError(NpusimError):
    """A memory trace line is malformed or addresses memory that does not exist."""


class CapacityError(NpusimError):
    """A tensor or tile does not fit in the memory it must be placed in."""


class ResultsError(NpusimError):
    """Results cannot be written where asked, or a results store cannot be read."""
