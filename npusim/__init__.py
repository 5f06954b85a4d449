"""npusim: a cycle-level NPU and memory-system simulator with an integrated quantizer."""

from __future__ import annotations

__version__ = "0.1.0"
