"""Closed-form timing, SRAM operand traffic, energy and area of a systolic MAC array per layer.

Formulas (SCALE-Sim, reference ``dataflow-cycles.md``; see :mod:`npusim.compute.dataflow`):
``F_r = ceil(Sr / R)``, ``F_c = ceil(Sc / C)``, ``cycles_per_fold`` = ``T + R + C - 2`` (os) or
``2R + C + T - 2`` (ws, is). No per-cycle loop: a layer costs a few integer operations.

Folds, one after another (``fold_overlap=False``, SCALE-Sim exactly): every fold pays its own
fill and drain, ``compute_cycles = F * cycles_per_fold`` with ``F`` the layer's folds (all
groups), e.g. 79,680 for M=128, K=768, N=768 on 32x32 os (4 x 24 folds of 830 cycles).

Pipelined folds (``fold_overlap=True``, the default), as systolic arrays run them: the next
fold's operands enter behind the previous fold's, so fold ``f + 1`` starts
``II = fold_interval = max(T, R)`` cycles after fold ``f`` (derivation in
:mod:`npusim.compute.dataflow`) and::

    compute_cycles = (F - 1) * II + cycles_per_fold

What overlaps: every fold's fill (the skewed entry of its first operands; ws/is: its R-cycle
preload of the stationary operand) and drain (the last operands' ``R + C - 2`` register hops
to the far corner and the outputs leaving) with its neighbours' streams. What does not: the
first fold's fill and the last fold's drain (the ``cycles_per_fold - T`` term, paid once), the
streams themselves (``T`` operand vectors per fold through one edge), and, when ``T < R``, the
``R`` cycles per fold in which a column's outputs (os) or the next stationary tile (ws, is)
move one row per cycle. With ``T >= R``: os ``F*T + R + C - 2``; ws, is ``F*T + 2R + C - 2``.
Bounds: ``F * T <= compute_cycles <= F * cycles_per_fold``, equality on the right for ``F = 1``
(``II <= cycles_per_fold`` as ``min(T, R) + C >= 2``).

Cycle convention: ``compute_cycles`` is the number of cycles the layer occupies the array.
SCALE-Sim prints its count minus one (the index of the last busy cycle counted from 0) per
layer; :attr:`ArrayLayerStats.scalesim_cycles` gives that figure whatever the options.

MACs per PE per cycle ``r`` (per precision, from :class:`ArrayParams`): only the temporal term
changes. A PE consumes ``r`` operand pairs per cycle along the temporal dimension, so
``T = ceil(T_gemm / r)`` (two INT4 MACs per PE per cycle halve the T-steps; 0.25 FP32 MACs per
cycle multiply them by 4). The spatial mapping, folds and the fill/drain terms (one register
hop per cycle) are unchanged. Peak throughput is ``R * C * r`` MACs per cycle.

Groups (grouped and depthwise convolution, batched matmul heads): each group is an independent
``(m, k, n)`` GEMM. With ``pack_groups=True`` (default), when one group's column extent ``Sc``
(N for os and ws, M for is) is at most half the columns, ``g = min(groups, C // Sc)`` groups
share a fold side by side on the columns, group ``j`` on columns ``j*Sc .. (j+1)*Sc - 1``. The
operand that flows along the rows (os, ws: inputs; is: weights) differs per group, so each
row's operand chain is cut at the block boundaries and every block has its own port at its
left edge (``g`` ports per row, ``g x R`` elements per cycle on that edge; the model does not
limit SRAM port bandwidth); the column-edge operand and the outputs are per column already. A
depthwise 3x3 layer on os (M = output pixels, K = 9, N = 1) thus puts 64 channels on a 64-wide
array: PE ``(i, j)`` accumulates output pixel ``i`` of channel ``j`` over the 9 taps. The
groups run in ``ceil(groups / g)`` group folds of ``F_r`` row folds each (``F_c = 1``);
operand accesses per group are unchanged (a packed group was in one column fold already).
``pack_groups=False`` runs the groups one after another on the whole array, as SCALE-Sim runs
a depthwise layer as one layer per channel.

Partial sums (ws, is): the row folds of one column fold each add a partial sum to the same
outputs, ``T x`` (used columns) of them (ws: M x N-slice, is: N x M-slice). They stay in the
accumulator buffer below the array (TPU-style, ``accumulator_bytes`` of
:class:`ArrayParams`) when that many entries at the accumulator width fit; then the SRAM sees
only the final outputs, and the buffer takes ``output_writes`` accumulates and
``output_reads`` read-backs. When they do not fit, every partial sum goes to the SRAM and back
(``output_writes``, ``output_reads``, SCALE-Sim's counts; the buffer is not used). os keeps
its outputs in the PEs: no partial sums leave the array.

PE registers (``register_energy_pj``): per MAC, a PE latches the operands that move through it
at the MAC format's width ``w`` and updates or passes on a partial sum at the accumulator's
width ``a``: os ``2w + a`` bits (input and weight move, the output register accumulates), ws
and is ``w + a`` (one operand stays, the partial sum moves on), at
:data:`npusim.compute.arith.REGISTER_BIT` each (scaled by the node).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from npusim.compute.arith import REGISTER_BIT
from npusim.compute.dataflow import DataflowModel, get_dataflow
from npusim.compute.energy import mac_area_um2, mac_energy_pj
from npusim.compute.params import ArrayParams, Dataflow, validate_params
from npusim.errors import ConfigError, Problem, WorkloadError
from npusim.precision import PRECISIONS

if TYPE_CHECKING:  # runtime import would cycle: workload -> config -> compute
    from npusim.workload.layers import Gemm


@dataclass(frozen=True)
class ArrayLayerStats:
    """Timing, traffic and energy of one layer (all ``groups``) on the array.

    * ``row_folds``, ``col_folds``: ``F_r``, ``F_c`` of one group; ``groups_per_fold``: groups
      side by side on the columns (1 unless packed, see the module doc).
    * ``folds``: ``ceil(groups / groups_per_fold) * F_r * F_c``.
    * ``cycles_per_fold``: one fold alone, fill and drain included (SCALE-Sim's formula);
      ``fold_interval``: cycles between consecutive folds' starts (``cycles_per_fold`` without
      overlap).
    * ``compute_cycles``: ``(folds - 1) * fold_interval + cycles_per_fold`` (npusim convention).
    * ``mapping_efficiency``: mean over folds of used rows x used columns / (R x C)
      ``= groups * Sr * Sc / (folds * R * C)``, in (0, 1].
    * ``mac_utilization``: useful MACs / (compute_cycles x R x C x r), in (0, 1]; equals the
      reference's mean over folds of used rows x used columns x T / (R x C x cycles per fold)
      for ``r = 1`` without overlap.
    * Operand accesses in elements: ``input_reads``, ``weight_reads`` (the K x N operand, an
      activation for a matmul without weights), ``output_writes`` (partial sums included) and
      ``output_reads`` (partial sums read back to be accumulated: ``output_writes - M*N`` per
      group; npusim's addition, SCALE-Sim counts writes only).
    * Bytes: inputs and weights bit-packed at the operand precision; partial-sum writes and all
      output reads at the accumulator precision; the final ``M * N`` output writes per group at
      the operand precision (requantized at the array edge).
    * ``psum_bytes``: accumulator bytes one column fold's partial sums take (0 for os);
      ``psums_in_accumulator``: they fit the accumulator buffer (see the module doc).
    * ``sram_output_write_bytes`` / ``sram_output_read_bytes``: the output and partial-sum
      bytes that reach the SRAM (the final outputs only when the partial sums stay in the
      accumulator); ``accumulator_writes`` / ``accumulator_reads``: elements added into and
      read back from the accumulator buffer.
    * ``mac_energy_pj``: ``macs * energy per MAC`` (useful MACs only; idle PEs cost nothing here).
    * ``register_energy_pj``: the PE registers' energy for those MACs (module doc).
    """

    precision: str
    dataflow: str
    rows: int
    cols: int
    m: int
    k: int
    n: int
    groups: int
    macs: int
    row_folds: int
    col_folds: int
    groups_per_fold: int
    folds: int
    t_steps: int
    cycles_per_fold: int
    fold_interval: int
    compute_cycles: int
    mapping_efficiency: float
    mac_utilization: float
    input_reads: int
    weight_reads: int
    output_writes: int
    output_reads: int
    input_read_bytes: int
    weight_read_bytes: int
    output_write_bytes: int
    output_read_bytes: int
    psum_bytes: int
    psums_in_accumulator: bool
    sram_output_write_bytes: int
    sram_output_read_bytes: int
    accumulator_writes: int
    accumulator_reads: int
    mac_energy_pj: float
    register_energy_pj: float

    @property
    def scalesim_cycles(self) -> int:
        """The figure SCALE-Sim prints, one layer per group run one after another without
        overlap: ``groups * (F_r * F_c * cycles_per_fold - 1)``."""
        return self.groups * (self.row_folds * self.col_folds * self.cycles_per_fold - 1)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class _Psums:
    fold_bytes: int
    kept: bool
    spilled_bytes: int
    writes: int
    reads: int


def _validate_gemm(gemm: Gemm) -> None:
    for key in ("m", "k", "n", "groups"):
        value = getattr(gemm, key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise WorkloadError(f"GEMM {key} must be a positive integer, got {value!r}")


class MacArray:
    """A validated array; build once, then call :meth:`layer_timing` per layer."""

    def __init__(self, params: ArrayParams) -> None:
        self.params = validate_params(params)
        self._model: DataflowModel = get_dataflow(self.params.dataflow)
        self._rates = {
            p: Fraction(r).limit_denominator(1 << 20)
            for p, r in self.params.macs_per_pe_per_cycle.items()
        }

    def rate(self, precision: str) -> Fraction:
        """MACs per PE per cycle at ``precision``; :class:`ConfigError` if unsupported."""
        rate = self._rates.get(precision)
        if rate is not None:
            return rate
        if precision not in PRECISIONS:
            message = f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}"
        else:
            supported = ", ".join(self._rates)
            message = f"the array does not support {precision!r}; supported: {supported}"
        raise ConfigError(Problem("array.macs_per_pe_per_cycle", message))

    def mac_energy_pj(self, precision: str) -> float:
        """Energy of one MAC at ``precision`` with this array's accumulator and overrides."""
        self.rate(precision)
        p = self.params
        return mac_energy_pj(precision, p.mac_energy_pj, p.accumulator_for(precision), p.node)

    def register_energy_pj(self, precision: str) -> float:
        """PE register energy per MAC at ``precision`` in this dataflow (module doc)."""
        p = self.params
        operand = PRECISIONS[precision].bits
        acc = PRECISIONS[p.accumulator_for(precision)].bits
        moving = 2 if self._model.dataflow is Dataflow.OS else 1
        return (moving * operand + acc) * REGISTER_BIT.energy_pj * p.node.energy_factor

    def area_mm2(self, precision: str) -> float:
        """MAC datapath area sustaining ``R * C * r`` MACs/cycle at ``precision``, in mm^2.

        ``rows * cols * r * mac_area_um2 * 1e-6``: area proportional to throughput (for r < 1,
        one MAC unit shared by 1/r PEs). MAC units only: no operand registers, SRAM or control.
        """
        rate = self.rate(precision)
        p = self.params
        unit = mac_area_um2(precision, p.mac_area_um2, p.accumulator_for(precision), p.node)
        return p.rows * p.cols * float(rate) * unit * 1e-6

    def _fold_timing(self, t_steps: int) -> tuple[int, int]:
        """(cycles of one fold, cycles between consecutive folds' starts)."""
        rows, cols = self.params.rows, self.params.cols
        cycles_per_fold = self._model.fold_cycles(rows, cols, t_steps)
        if not self.params.fold_overlap:
            return cycles_per_fold, cycles_per_fold
        return cycles_per_fold, self._model.fold_interval(rows, cols, t_steps)

    def _psum_split(
        self, groups: int, outs: int, psum_writes: int, acc_bits: int, fold_psums: int
    ) -> _Psums:
        """Where one layer's partial sums live (module doc): the accumulator buffer when one
        column fold's ``fold_psums`` entries of ``acc_bits`` fit it, else the SRAM."""
        fold_bytes = -(-fold_psums * acc_bits // 8)
        if 0 < fold_bytes <= self.params.accumulator_capacity_bytes:
            return _Psums(fold_bytes, True, 0, groups * outs, groups * psum_writes)
        return _Psums(fold_bytes, False, groups * (-(-psum_writes * acc_bits // 8)), 0, 0)

    def layer_timing(self, gemm: Gemm, precision: str) -> ArrayLayerStats:
        """Closed-form stats of ``gemm`` at ``precision``; raises WorkloadError / ConfigError."""
        _validate_gemm(gemm)
        rate = self.rate(precision)
        rows, cols = self.params.rows, self.params.cols
        m, k, n, groups = gemm.m, gemm.k, gemm.n, gemm.groups
        s_rows, s_cols, t = self._model.spatial_temporal(m, k, n)
        row_folds, col_folds = -(-s_rows // rows), -(-s_cols // cols)
        packed = min(groups, cols // s_cols) if self.params.pack_groups else 1
        groups_per_fold = max(1, packed)  # 0 when one group is wider than the array
        folds = -(-groups // groups_per_fold) * row_folds * col_folds
        t_steps = math.ceil(t / rate)
        cycles_per_fold, interval = self._fold_timing(t_steps)
        compute_cycles = (folds - 1) * interval + cycles_per_fold
        macs = groups * m * k * n
        ins, wts, outs = self._model.operand_accesses(m, k, n, row_folds, col_folds)
        operand = PRECISIONS[precision]
        acc = PRECISIONS[self.params.accumulator_for(precision)]
        psum_writes = outs - m * n
        fold_psums = t * min(groups_per_fold * s_cols, cols) if psum_writes else 0
        psums = self._psum_split(groups, outs, psum_writes, acc.bits, fold_psums)
        return ArrayLayerStats(
            precision=precision,
            dataflow=self._model.dataflow.value,
            rows=rows,
            cols=cols,
            m=m,
            k=k,
            n=n,
            groups=groups,
            macs=macs,
            row_folds=row_folds,
            col_folds=col_folds,
            groups_per_fold=groups_per_fold,
            folds=folds,
            t_steps=t_steps,
            cycles_per_fold=cycles_per_fold,
            fold_interval=interval,
            compute_cycles=compute_cycles,
            mapping_efficiency=groups * s_rows * s_cols / (folds * rows * cols),
            mac_utilization=float(macs / (compute_cycles * rows * cols * rate)),
            input_reads=groups * ins,
            weight_reads=groups * wts,
            output_writes=groups * outs,
            output_reads=groups * psum_writes,
            input_read_bytes=groups * operand.payload_bytes(ins),
            weight_read_bytes=groups * operand.payload_bytes(wts),
            output_write_bytes=groups
            * (acc.payload_bytes(psum_writes) + operand.payload_bytes(m * n)),
            output_read_bytes=groups * acc.payload_bytes(psum_writes),
            sram_output_write_bytes=groups * operand.payload_bytes(m * n) + psums.spilled_bytes,
            sram_output_read_bytes=psums.spilled_bytes,
            psum_bytes=psums.fold_bytes,
            psums_in_accumulator=psums.kept,
            accumulator_writes=psums.writes,
            accumulator_reads=psums.reads,
            mac_energy_pj=macs * self.mac_energy_pj(precision),
            register_energy_pj=macs * self.register_energy_pj(precision),
        )


def layer_timing(gemm: Gemm, params: ArrayParams, precision: str) -> ArrayLayerStats:
    """Stats of one layer's GEMM on an array built from ``params`` (validates each call;
    build a :class:`MacArray` once to time many layers)."""
    return MacArray(params).layer_timing(gemm, precision)


def array_area_mm2(params: ArrayParams, precision: str) -> float:
    """MAC datapath area of the array at ``precision`` in mm^2 (see :meth:`MacArray.area_mm2`)."""
    return MacArray(params).area_mm2(precision)


__all__ = ["ArrayLayerStats", "Dataflow", "MacArray", "array_area_mm2", "layer_timing"]
