"""Import SCALE-Sim topology CSV files as npusim layers.

Two forms, as SCALE-Sim v2 reads them (``scalesim/topology_utils.py``); the first line is a
header and is skipped, blank lines are skipped, a trailing comma on a row is allowed:

* conv: ``name, ifmap height, ifmap width, filter height, filter width, channels, num filters,
  stride[, stride width]`` -> :class:`Conv2d` with no padding (SCALE-Sim's ifmap is already
  padded). SCALE-Sim counts ``ceil((in - filter + stride) / stride)`` output rows, i.e.
  ``ceil((in - filter) / stride) + 1``: a last, partial window counts. :class:`Conv2d` uses the
  PyTorch ``floor((in - filter) / stride) + 1``; to give the same M as SCALE-Sim, the imported
  ifmap is extended to ``filter + stride * ceil((in - filter) / stride)`` (at most
  ``stride - 1`` extra rows/columns, the zero fill SCALE-Sim's partial window implies).
  A layer whose name contains ``DP`` is depthwise, as in SCALE-Sim (which runs it as one
  layer per channel with ``num filters`` filters each): ``Conv2d(in_channels=C,
  out_channels=C * num_filters, groups=C)``, whose GEMM view per group is SCALE-Sim's
  per-channel layer.
* gemm (MNK): ``name, M, N, K`` -> :class:`Linear` with ``tokens = M``, ``in_features = K``,
  ``out_features = N`` (SCALE-Sim maps it to a 1 x K filter over an M x K ifmap: the same
  M, N, K).

Further columns, as SCALE-Sim's own files carry them: the column after the stride (conv) or
after K (gemm) may be empty, a column stride (conv, equal to the row stride), or an ``N:M``
structured-sparsity ratio (``topologies/sparsity/*.csv``: N of every M weights non-zero). The
ratio is checked (``1 <= N <= M``) but the layer is imported dense: npusim does not model a
sparse MAC array, so a run is the dense upper bound of such a layer. Every column after that
is ignored (``topologies/conv_nets/Resnet50.csv`` ends its rows with three note columns,
``Eh, Ew, e2``). A repeated layer name gets a suffix (``GEMM_1``, ``GEMM_1_2``).

The form is detected from the header (``M``, ``N``, ``K`` columns -> gemm) unless given.
Every problem raises :class:`WorkloadError` with file and line.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from pathlib import Path

from npusim.errors import WorkloadError
from npusim.workload.layers import Conv2d, Linear


class TopologyForm(str, Enum):
    """Row layout of a SCALE-Sim topology CSV."""

    AUTO = "auto"
    CONV = "conv"
    GEMM = "gemm"


def _fields(line: str) -> list[str]:
    fields = [f.strip() for f in line.split(",")]
    while fields and fields[-1] == "":
        fields.pop()
    return fields


def _detect(header: list[str]) -> TopologyForm:
    lowered = [h.lower() for h in header[1:4]]
    return TopologyForm.GEMM if lowered == ["m", "n", "k"] else TopologyForm.CONV


def _ints(where: str, values: list[str]) -> list[int]:
    try:
        return [int(v) for v in values]
    except ValueError:
        raise WorkloadError(f"{where}: expected integers, got {', '.join(values)}") from None


def _scalesim_extent(size: int, kernel: int, stride: int) -> int:
    """Ifmap size whose PyTorch output count equals SCALE-Sim's ``ceil((size-kernel)/stride)+1``."""
    return kernel + stride * -(-(size - kernel) // stride)


def _sparsity(where: str, text: str) -> tuple[int, int]:
    """``"2:4"`` -> ``(2, 4)``; raises :class:`WorkloadError` unless ``1 <= N <= M``."""
    n_text, _, m_text = text.partition(":")
    n, m = _ints(where, [n_text.strip(), m_text.strip()])
    if not 1 <= n <= m:
        raise WorkloadError(f"{where}: sparsity {text!r} must be N:M with 1 <= N <= M")
    return n, m


def _extra_column(where: str, fields: list[str], used: int) -> str:
    """The optional column after the ``used`` required ones ('' when absent)."""
    return fields[used] if len(fields) > used else ""


def _conv_row(where: str, fields: list[str]) -> Conv2d:
    if len(fields) < 8:
        raise WorkloadError(f"{where}: conv row needs at least 8 fields, got {len(fields)}")
    name = fields[0]
    in_h, in_w, k_h, k_w, channels, filters, stride = _ints(where, fields[1:8])
    extra = _extra_column(where, fields, 8)
    if ":" in extra:
        _sparsity(where, extra)
    elif extra and _ints(where, [extra])[0] != stride:
        raise WorkloadError(f"{where}: different row/column strides are not supported")
    if k_h > in_h or k_w > in_w:
        raise WorkloadError(f"{where}: filter larger than the ifmap")
    if min(in_h, in_w, k_h, k_w, channels, filters, stride) < 1:
        raise WorkloadError(f"{where}: sizes and stride must be positive integers")
    depthwise = "DP" in name
    in_h, in_w = _scalesim_extent(in_h, k_h, stride), _scalesim_extent(in_w, k_w, stride)
    try:
        return Conv2d(
            name=name,
            in_h=in_h,
            in_w=in_w,
            in_channels=channels,
            out_channels=channels * filters if depthwise else filters,
            kernel_h=k_h,
            kernel_w=k_w,
            stride=stride,
            groups=channels if depthwise else 1,
        )
    except WorkloadError as err:
        raise WorkloadError(f"{where}: {err}") from None


def _gemm_row(where: str, fields: list[str]) -> Linear:
    if len(fields) < 4:
        raise WorkloadError(f"{where}: gemm row needs 4 fields (name, M, N, K), got {len(fields)}")
    m, n, k = _ints(where, fields[1:4])
    extra = _extra_column(where, fields, 4)
    if extra:
        _sparsity(where, extra)
    try:
        return Linear(name=fields[0], in_features=k, out_features=n, tokens=m)
    except WorkloadError as err:
        raise WorkloadError(f"{where}: {err}") from None


def parse_topology(
    text: str, form: TopologyForm | str = TopologyForm.AUTO, source: str = "<topology>"
) -> list[Conv2d | Linear]:
    """Layers of a SCALE-Sim topology CSV given as text; raises :class:`WorkloadError`."""
    lines = [(number, _fields(line)) for number, line in enumerate(text.splitlines(), 1)]
    lines = [(number, fields) for number, fields in lines if fields]
    if len(lines) < 2:
        raise WorkloadError(f"{source}: no layers (a header line and at least one row needed)")
    try:
        chosen = TopologyForm(form)
    except ValueError:
        valid = ", ".join(f.value for f in TopologyForm)
        raise WorkloadError(f"unknown topology form {form!r}; valid: {valid}") from None
    if chosen is TopologyForm.AUTO:
        chosen = _detect(lines[0][1])
    parse_row = _gemm_row if chosen is TopologyForm.GEMM else _conv_row
    return _unique_names([parse_row(f"{source}:{number}", fields) for number, fields in lines[1:]])


def _unique_names(layers: list[Conv2d | Linear]) -> list[Conv2d | Linear]:
    """A repeated row name gets ``_2``, ``_3``, ... (SCALE-Sim's ``sparsity/gemm.csv`` names
    two rows ``GEMM_1``; npusim keys results by layer name)."""
    given = {layer.name for layer in layers}
    used: set[str] = set()
    unique = []
    for layer in layers:
        name, count = layer.name, 1
        while name in used or (count > 1 and name in given):
            count += 1
            name = f"{layer.name}_{count}"
        used.add(name)
        unique.append(dataclasses.replace(layer, name=name) if name != layer.name else layer)
    return unique


def load_topology(
    path: str | Path, form: TopologyForm | str = TopologyForm.AUTO
) -> list[Conv2d | Linear]:
    """Layers of the SCALE-Sim topology CSV file at ``path``; raises :class:`WorkloadError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise WorkloadError(f"cannot read topology {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise WorkloadError(f"topology {path} is not a UTF-8 text file") from None
    return parse_topology(text, form, str(path))
