"""Vector-unit layers of decoder-only language models: RMSNorm, rotary embedding and the
token-embedding gather. They follow the layer contract of :mod:`npusim.workload.layers` (no
GEMM, no MACs, no stored weights); op counts per element:

* rmsnorm: 4 (square, sum, scale by the per-row ``1 / sqrt(mean + eps)``, scale by the gain;
  Zhang & Sennrich, NeurIPS 2019, Eq. 4: no mean subtracted, no bias, against layernorm's 7);
* rope: 3 (``x * cos + rotate_half(x) * sin``: two multiplies and an add per element; Su et
  al., RoFormer 2021, Eq. 34); the cos/sin values are per position and taken as on chip;
* embedding: 0, pure data movement: one row of ``features`` gathered per token from a
  ``vocab x features`` table, so a pass reads ``tokens x features`` elements (the network
  input, from DRAM, at the activations' precision), never the whole table. The table itself
  is not counted as weights (the layer contract: vector layers store none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from npusim.errors import WorkloadError
from npusim.workload.shapes import check_positive
from npusim.workload.vector import RowNorm, _VectorLayer

RMSNORM_OPS_PER_ELEMENT = 4
ROPE_OPS_PER_ELEMENT = 3


class _SameSize(_VectorLayer):
    """A vector layer whose output is as large as its input."""

    @property
    def output_elements(self) -> int:
        return self.input_elements  # type: ignore[attr-defined, no-any-return]


@dataclass(frozen=True)
class RMSNorm(RowNorm):
    """RMS normalization of ``batch x tokens`` vectors of ``features`` elements."""

    kind = "rmsnorm"
    ops_per_element: ClassVar[int] = RMSNORM_OPS_PER_ELEMENT


@dataclass(frozen=True)
class Rope(_SameSize):
    """Rotary position embedding of ``batch x tokens`` rows of ``heads`` heads of
    ``head_dim`` (even: the dimensions rotate in pairs)."""

    name: str
    tokens: int
    heads: int
    head_dim: int
    batch: int = 1

    kind = "rope"

    def __post_init__(self) -> None:
        check_positive(self.name, tokens=self.tokens, heads=self.heads,
                       head_dim=self.head_dim, batch=self.batch)  # fmt: skip
        if self.head_dim % 2:
            raise WorkloadError(f"layer {self.name!r}: head_dim must be even (dimensions "
                                f"rotate in pairs), got {self.head_dim}")  # fmt: skip

    @property
    def input_elements(self) -> int:
        return self.batch * self.tokens * self.heads * self.head_dim

    @property
    def vector_ops(self) -> int:
        return ROPE_OPS_PER_ELEMENT * self.output_elements


@dataclass(frozen=True)
class Embedding(_SameSize):
    """Token-embedding lookup: ``batch x tokens`` rows of ``features`` gathered from a
    ``vocab x features`` table (see the module docstring for what moves)."""

    name: str
    tokens: int
    features: int
    vocab: int
    batch: int = 1

    kind = "embedding"

    def __post_init__(self) -> None:
        check_positive(self.name, tokens=self.tokens, features=self.features,
                       vocab=self.vocab, batch=self.batch)  # fmt: skip

    @property
    def input_elements(self) -> int:
        return self.batch * self.tokens * self.features

    @property
    def vector_ops(self) -> int:
        return 0
