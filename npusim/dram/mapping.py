"""Address mapping: a bit-order string, MSB to LSB, over Ro Bg Ba Ra Co Ch, decoded with numpy.

A byte address is first divided by the burst size (32 B for BL16); the remaining burst index
is split into fields from the least significant bit upwards in the reverse order of the string.
``RoBaCoBgCh`` thus puts the channel in the lowest bits, then the bank group, then the column.

Rule for the string: two-letter fields, each at most once; Ro, Ba and Co must appear; Bg must
appear when the bank architecture has bank groups (BG mode) and Ch when there is more than one
channel; Ra may be left out (npusim has one rank per channel, so Ra has no bits). A field with
no bits may still be written (``RoBaCoBgCh`` is valid for 16B mode too).

The XOR bank hash flips the bank bits with the lowest row bits (bank ^= row mod banks), the
permutation-based interleaving of Zhang et al., MICRO 2000, which spreads row conflicts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy loads at the first decode: checking a mapping string needs none
    import numpy as np

MAPPING_FIELDS: tuple[str, ...] = ("Ro", "Bg", "Ba", "Ra", "Co", "Ch")


def _tokens(mapping: str) -> list[str] | None:
    if not re.fullmatch(r"([A-Z][a-z])+", mapping):
        return None
    return [mapping[i : i + 2] for i in range(0, len(mapping), 2)]


def mapping_problems(mapping: object, bank_groups: int, channels: int) -> list[str]:
    """Problems of a mapping string under the module's rule; empty when it is valid."""
    valid = " ".join(MAPPING_FIELDS)
    if not isinstance(mapping, str):
        return [f"expected a string of fields {valid}, found {mapping!r}"]
    tokens = _tokens(mapping)
    if tokens is None:
        return [f"expected two-letter fields from {valid} (e.g. 'RoBaCoBgCh'), found {mapping!r}"]
    problems = []
    unknown = [t for t in tokens if t not in MAPPING_FIELDS]
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)} in {mapping!r}; valid: {valid}")
    repeated = sorted({t for t in tokens if tokens.count(t) > 1})
    if repeated:
        problems.append(f"field(s) {', '.join(repeated)} repeated in {mapping!r}")
    required = ["Ro", "Ba", "Co"] + (["Bg"] if bank_groups > 1 else [])
    required += ["Ch"] if channels > 1 else []
    missing = [t for t in required if t not in tokens]
    if missing:
        problems.append(f"field(s) {', '.join(missing)} missing from {mapping!r}")
    return problems


@dataclass(frozen=True)
class Decoded:
    """Decoded bursts, all int64 arrays of one shape: channel, flat bank, row, column."""

    channel: np.ndarray
    bank: np.ndarray
    row: np.ndarray
    column: np.ndarray


class AddressMap:
    """Vectorized decoder of one (valid) mapping string for one organization.

    Flat bank index = ``ba * bank_groups + bg``, so ``bank % bank_groups`` is the bank group.
    """

    def __init__(
        self,
        mapping: str,
        *,
        channels: int,
        bank_groups: int,
        banks_per_group: int,
        rows: int,
        bursts_per_row: int,
        bank_hash: bool = False,
    ) -> None:
        sizes = {
            "Ro": rows,
            "Bg": bank_groups,
            "Ba": banks_per_group,
            "Ra": 1,
            "Co": bursts_per_row,
            "Ch": channels,
        }
        tokens = _tokens(mapping) or []
        self.widths = {t: (sizes[t] - 1).bit_length() for t in tokens}
        self._order = list(reversed(tokens))
        self.bank_groups = bank_groups
        self.banks = bank_groups * banks_per_group
        self.bank_hash = bank_hash
        self.total_bursts = channels * self.banks * rows * bursts_per_row

    def decode(self, burst_index: np.ndarray) -> Decoded:
        """Split burst indices (uint64/int64, below ``total_bursts``) into their fields."""
        import numpy as np

        rest = burst_index.astype(np.int64, copy=False)
        values: dict[str, np.ndarray] = {}
        shift = 0
        for token in self._order:
            width = self.widths[token]
            if width:  # a field with no bits stays absent: zero below
                values[token] = (rest >> shift) & ((1 << width) - 1)
            shift += width
        zero = np.zeros_like(rest)
        row = values.get("Ro", zero)
        bank = values.get("Bg", zero)
        if "Ba" in values:
            bank = values["Ba"] * self.bank_groups + bank
        if self.bank_hash:
            bank = bank ^ (row & (self.banks - 1))
        return Decoded(values.get("Ch", zero), bank, row, values.get("Co", zero))
