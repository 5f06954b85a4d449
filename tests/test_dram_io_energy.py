"""DRAM I/O energy from the data (`dram.io_energy: data`): the quantized tensors' own bytes.

The flat term prices every bit at io_pj_per_bit (0.5 pJ, reference lpddr5.md), right for
random data, whose DQ lines toggle on half the beats. Priced from the data, a tensor whose
bytes never change costs no I/O energy at all, and random bits cost the flat price.
"""

from __future__ import annotations

import numpy as np
import pytest

from npusim.config import load_scenario
from npusim.errors import ConfigError
from npusim.simulate import simulate
from npusim.workload import Linear, Workload

IO_PJ_PER_BIT = 0.5  # reference lpddr5.md: "plus about 0.5 pJ/bit I/O"
K, N = 512, 256


def _layer(weights: np.ndarray) -> Workload:
    return Workload("one", (Linear("fc", in_features=K, out_features=N, tokens=4),),
                    weight_arrays={"fc": weights})  # fmt: skip


def _run(workload: Workload, mode: str, precision: str = "int8", dbi: bool = False):  # type: ignore[no-untyped-def]
    overrides = [f"dram.io_energy={mode}", f"dram.dbi={str(dbi).lower()}"]
    return simulate(load_scenario(precision=precision, overrides=overrides), workload, "analytic")


def test_weights_whose_bytes_never_change_cost_no_io_energy() -> None:
    """All-ones weights quantize to INT8 code 127 in every byte (per-channel symmetric):
    no line ever toggles, so their share of the flat I/O energy, 0.5 pJ per bit read,
    disappears, and the other kinds are priced at their own measured rates."""
    workload = _layer(np.ones((N, K), dtype=np.float32))
    flat, data = _run(workload, "flat"), _run(workload, "data")
    extra = data.layers[0].extra
    assert extra["weight_io_toggles_per_bit"] == 0.0
    assert "weight_io_toggles_per_bit" not in flat.layers[0].extra
    # bytes by hand: INT8 payloads, FP32 scales (per channel for weights, per tensor else)
    weight_bytes, input_bytes, output_bytes = N * K + 4 * N, 4 * K + 4, 4 * N + 4
    assert extra["weight_read_bytes"] + extra["input_read_bytes"] == N * K + 4 * K
    rate_in, rate_out = extra["input_io_toggles_per_bit"], extra["output_io_toggles_per_bit"]
    expected = (
        8
        * IO_PJ_PER_BIT
        * (-weight_bytes + input_bytes * (2 * rate_in - 1) + output_bytes * (2 * rate_out - 1))
    )
    change = data.totals()["energy_pj"]["dram"] - flat.totals()["energy_pj"]["dram"]
    assert change == pytest.approx(expected, rel=1e-9)


def test_random_bits_cost_the_flat_price() -> None:
    """FP32 Gaussian weights: mantissa bits are random, so the lines toggle on about half
    the beats (32,768 bits sampled: 0.5 +- 0.02 at more than 5 sigma)."""
    rng = np.random.default_rng(5)
    layer = _run(_layer(rng.standard_normal((N, K)).astype(np.float32)), "data", "fp32").layers[0]
    assert layer.extra["weight_io_toggles_per_bit"] == pytest.approx(0.5, abs=0.02)


def test_dbi_dc_bounds_the_high_levels_it_targets() -> None:
    """DBI-DC never sends a byte with more than four ones (DBI line included per lane), so
    the ones per data bit are at most 5/8 with it, and never more than without it."""
    rng = np.random.default_rng(6)
    workload = _layer(rng.standard_normal((N, K)).astype(np.float32))
    plain = _run(workload, "data", "fp32").layers[0].extra
    dbi = _run(workload, "data", "fp32", dbi=True).layers[0].extra
    assert dbi["weight_io_ones_per_bit"] <= plain["weight_io_ones_per_bit"]
    assert dbi["weight_io_ones_per_bit"] <= 5 / 8


def test_an_unknown_io_energy_mode_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"dram.io_energy: expected one of flat, data"):
        load_scenario(overrides=["dram.io_energy=toggles"])
