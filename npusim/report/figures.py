"""Matplotlib set up once for reproducible files: the same figure gives the same bytes.

SVG ids (clip paths, glyphs) come from ``svg.hashsalt`` instead of random UUIDs and the SVG
carries no date. Only report modules import this.
"""

from __future__ import annotations

import io
from typing import Any

#: savefig options per format: the SVG without its ``Date`` (Agg PNGs carry no date)
SAVE_OPTIONS: dict[str, dict[str, Any]] = {"svg": {"metadata": {"Date": None}}, "png": {}}


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend with a fixed SVG id salt."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "npusim"
    return plt


def render(fig: Any, suffix: str, **options: Any) -> bytes:
    """``fig`` as ``suffix`` (``png`` or ``svg``) bytes, tightly cropped, reproducibly."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=suffix, bbox_inches="tight", **SAVE_OPTIONS[suffix], **options)
    return buffer.getvalue()
