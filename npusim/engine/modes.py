"""The SRAM modes (a light module: the scenario schema reads their names at validation)."""

from __future__ import annotations

from enum import Enum


class SramMode(str, Enum):
    """How activations live in the SRAM.

    ``cache``: hardware-managed; output tiles are written into the cache (write-allocate),
    consumers hit them while resident, dead tensors are dropped without write-back.
    ``scratchpad``: software-managed; a compile-time allocator places tensors, and what does
    not fit is spilled to DRAM and reloaded by explicit DMA.
    """

    CACHE = "cache"
    SCRATCHPAD = "scratchpad"


SRAM_MODES = {mode.value: mode for mode in SramMode}
