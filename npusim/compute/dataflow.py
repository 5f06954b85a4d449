"""Systolic dataflows as small plug-ins: spatio-temporal mapping, cycles per fold, SRAM accesses.

Each model implements the published SCALE-Sim formulas (Samajdar et al., "A Systematic
Methodology for Characterizing Scalability of DNN Accelerators using SCALE-Sim", ISPASS 2020;
reference page ``dataflow-cycles.md``) for one GEMM of ``M x K`` inputs by ``K x N`` weights
on ``R`` rows by ``C`` columns:

======== ======= ======= ======= ===================== ============ ============ ===============
dataflow Sr      Sc      T       cycles per fold       input reads  weight reads output writes
======== ======= ======= ======= ===================== ============ ============ ===============
os       M       N       K       T + R + C - 2         M K F_c      K N F_r      M N
ws       K       N       M       2R + C + T - 2        M K F_c      K N          M N F_r
is       K       M       N       2R + C + T - 2        K M          K N F_c      M N F_r
======== ======= ======= ======= ===================== ============ ============ ===============

with ``F_r = ceil(Sr / R)`` and ``F_c = ceil(Sc / C)``. ``T`` passed to :meth:`fold_cycles`
is already the effective number of time steps (see :mod:`npusim.compute.array`).

Pipelined folds (npusim's addition, :meth:`fold_interval`): the cycles from one fold's first
operand entering the array to the next fold's, when folds overlap, is ``max(T, R)`` for all
three dataflows. ``T``: the streamed operand of a fold enters one vector per cycle, so the next
fold's stream can follow right behind it and each PE starts the next fold the cycle after its
last MAC of this one. ``R``: the one thing per fold that moves through the array one row per
cycle besides the stream, and so bounds the interval when ``T < R``: os moves each column's
``R`` outputs out through its one output port at the bottom edge (where ws and is emit their
partial sums), one per cycle, from double-buffered output registers while the PEs start the
next fold; ws shifts the next fold's ``R`` rows of weights into the shadow weight registers
(TPU-style double buffering) during this fold's stream, is the next fold's ``R`` rows of
inputs. One row per cycle is the same register hop the SCALE-Sim fill term counts.
"""

from __future__ import annotations

from typing import Protocol

from npusim.compute.params import Dataflow
from npusim.errors import ConfigError, Problem


class DataflowModel(Protocol):
    """Contract of one dataflow; all quantities are integers (elements, cycles)."""

    dataflow: Dataflow

    def spatial_temporal(self, m: int, k: int, n: int) -> tuple[int, int, int]:
        """``(Sr, Sc, T)``: GEMM dimensions mapped on rows, on columns and in time."""
        ...

    def fold_cycles(self, rows: int, cols: int, t_steps: int) -> int:
        """Cycles of one fold, fill and drain included (every fold costs the same)."""
        ...

    def fold_interval(self, rows: int, cols: int, t_steps: int) -> int:
        """Cycles between the starts of consecutive pipelined folds (see the module doc);
        at least ``t_steps`` and at most :meth:`fold_cycles`."""
        ...

    def operand_accesses(
        self, m: int, k: int, n: int, row_folds: int, col_folds: int
    ) -> tuple[int, int, int]:
        """SRAM ``(input reads, weight reads, output writes)`` in elements."""
        ...


class OutputStationary:
    """Each PE keeps one output; inputs flow along rows, weights along columns."""

    dataflow = Dataflow.OS

    def spatial_temporal(self, m: int, k: int, n: int) -> tuple[int, int, int]:
        return m, n, k

    def fold_cycles(self, rows: int, cols: int, t_steps: int) -> int:
        return t_steps + rows + cols - 2

    def fold_interval(self, rows: int, cols: int, t_steps: int) -> int:
        return max(t_steps, rows)  # stream, or the output drain down the columns

    def operand_accesses(
        self, m: int, k: int, n: int, row_folds: int, col_folds: int
    ) -> tuple[int, int, int]:
        return m * k * col_folds, k * n * row_folds, m * n


class WeightStationary:
    """Each PE keeps one weight (K on rows, N on columns); inputs stream over M in time."""

    dataflow = Dataflow.WS

    def spatial_temporal(self, m: int, k: int, n: int) -> tuple[int, int, int]:
        return k, n, m

    def fold_cycles(self, rows: int, cols: int, t_steps: int) -> int:
        return 2 * rows + cols + t_steps - 2

    def fold_interval(self, rows: int, cols: int, t_steps: int) -> int:
        return max(t_steps, rows)  # stream, or the next fold's weight preload

    def operand_accesses(
        self, m: int, k: int, n: int, row_folds: int, col_folds: int
    ) -> tuple[int, int, int]:
        return m * k * col_folds, k * n, m * n * row_folds


class InputStationary:
    """Each PE keeps one input (K on rows, M on columns); weights stream over N in time."""

    dataflow = Dataflow.IS

    def spatial_temporal(self, m: int, k: int, n: int) -> tuple[int, int, int]:
        return k, m, n

    def fold_cycles(self, rows: int, cols: int, t_steps: int) -> int:
        return 2 * rows + cols + t_steps - 2

    def fold_interval(self, rows: int, cols: int, t_steps: int) -> int:
        return max(t_steps, rows)  # stream, or the next fold's input preload

    def operand_accesses(
        self, m: int, k: int, n: int, row_folds: int, col_folds: int
    ) -> tuple[int, int, int]:
        return k * m, k * n * col_folds, m * n * row_folds


DATAFLOWS: dict[Dataflow, DataflowModel] = {
    model.dataflow: model for model in (OutputStationary(), WeightStationary(), InputStationary())
}
"""Registry of dataflow models by :class:`Dataflow`."""


def get_dataflow(name: Dataflow | str) -> DataflowModel:
    """Dataflow model by name (``os``, ``ws``, ``is``); :class:`ConfigError` lists valid names."""
    try:
        return DATAFLOWS[Dataflow(getattr(name, "value", name))]
    except ValueError:
        valid = ", ".join(d.value for d in Dataflow)
        raise ConfigError(
            Problem("array.dataflow", f"unknown dataflow {name!r}; valid: {valid}")
        ) from None
