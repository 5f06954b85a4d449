"""Cycle fidelity: the primer's effects measured end to end, and physical invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.config import load_scenario
from npusim.errors import CapacityError
from npusim.simulate import simulate
from npusim.workload import Conv2d, Linear, Workload

GEMV = Workload("gemv", (Linear("gemv", in_features=4096, out_features=4096, tokens=1),))
SMALL = Workload("small", (
    Conv2d("conv", in_h=28, in_w=28, in_channels=64, out_channels=64, kernel_h=3, kernel_w=3,
           padding=1),
    Linear("fc", in_features=1024, out_features=512, tokens=4),
))  # fmt: skip


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> list:
    """The memory paths the cycle engine builds, recorded to compare with its results."""
    import npusim.engine.cycle as cycle

    built = []

    class Recording(cycle.MemoryPath):
        def __init__(self, scenario: object) -> None:
            super().__init__(scenario)  # type: ignore[arg-type]
            built.append(self)

    monkeypatch.setattr(cycle, "MemoryPath", Recording)
    return built


@pytest.fixture(scope="module")
def gemv_runs() -> dict[str, object]:
    return {
        p: simulate(load_scenario(precision=p), GEMV, "cycle") for p in ("fp32", "int8", "int4")
    }


LINE = 64  # the default scenario's cache line: DRAM reads are whole lines


def _lines(nbytes: int) -> int:
    return -(-nbytes // LINE) * LINE


# Bytes each format moves for the 4096 x 4096 GEMV, worked by hand: the weight tensor with its
# per-output-channel FP32 scales (the default: symmetric, per channel), the input vector with
# its per-tensor FP32 scale, each tensor read in whole 64 B lines; the output vector written.
GEMV_BYTES = {  # precision: (read, written)
    "fp32": (4096 * 4096 * 4 + 4096 * 4, 4096 * 4),
    "int8": (_lines(4096 * 4096 + 4096 * 4) + _lines(4096 + 4), 4096 + 4),
    "int4": (_lines(4096 * 4096 // 2 + 4096 * 4) + _lines(4096 // 2 + 4), 4096 // 2 + 4),
}
# LPDDR5 8 Gb die (JESD209-5B): every tREFI = 3906 ns an all-bank refresh closes the channel
# for tRPab (21 ns, the PREA before it) + tRFCab (210 ns), so no stream can exceed this share
# of the pin bandwidth (the default scenario: all-bank refresh, 8 Gb).
REFRESH_CEILING = 1 - (21 + 210) / 3906


def test_memory_bound_gemv_time_follows_the_bytes_each_format_moves(gemv_runs: dict) -> None:
    """Primer: at 50 GB/s, 12.5 G FP32 vs 50 G INT8 parameters per second.

    The ratio is not 4: INT8 and INT4 also move their scales. A memory-bound layer's time is
    its bytes over a sustained bandwidth that is the same stream for every format; only the
    fixed start-up and tail (first line's latency, last tile's compute and store, about 2 us)
    weigh more in the shorter run, so the time ratio is at most the bytes ratio and under 1 %
    below it (measured 0.996 of it for FP32/INT8, 0.9957 for INT8/INT4)."""
    moved = {}
    for p, (read, written) in GEMV_BYTES.items():
        totals = gemv_runs[p].totals()
        assert (totals["dram_read_bytes"], p) == (read, p)
        # writes count whole bursts on the bus: the output, plus at most a partial 32 B burst
        # at each end of each of the 64 tile steps' stores
        assert written <= totals["dram_write_bytes"] <= written + 64 * 2 * 32, p
        moved[p] = totals["dram_read_bytes"] + totals["dram_write_bytes"]
        assert gemv_runs[p].layers[0].bound == "memory"
    fp32, int8, int4 = (gemv_runs[p].totals()["time_s"] for p in ("fp32", "int8", "int4"))
    for slow, fast, bytes_ratio in ((fp32, int8, moved["fp32"] / moved["int8"]),
                                    (int8, int4, moved["int8"] / moved["int4"])):  # fmt: skip
        assert bytes_ratio * 0.99 <= slow / fast <= bytes_ratio
    assert 3.99 < moved["fp32"] / moved["int8"] < 4  # the scales: 16 KiB against 16 MiB


def test_streaming_bandwidth_is_the_refresh_ceiling_less_a_fixed_tail(gemv_runs: dict) -> None:
    """A sequential weight stream over 4 channels with bank-interleaved rows keeps the bus busy
    except during refresh; the rest of the gap (about 2-3 %, measured 0.970-0.978 of the
    ceiling) is the run's start-up and tail and the row switches the banks do not hide."""
    for p, run in gemv_runs.items():
        totals = run.totals()
        moved = totals["dram_read_bytes"] + totals["dram_write_bytes"]
        assert totals["dram_bandwidth_gbps"] == pytest.approx(moved / totals["time_s"] / 1e9)
        assert totals["dram_peak_gbps"] == pytest.approx(4 * 12.8)  # 4 x16 channels at 6400
        efficiency = totals["dram_bandwidth_gbps"] / totals["dram_peak_gbps"]
        assert 0.96 * REFRESH_CEILING <= efficiency <= REFRESH_CEILING, p


def test_a_working_set_that_fits_only_at_int8() -> None:
    # INT8: 2 MiB of weights + 1 MiB of inputs fit the 4 MiB SRAM; FP32 (8 + 4 MiB) do not.
    layer = Workload("fits", (Linear("fc", in_features=2048, out_features=1024, tokens=512),))
    int8 = simulate(load_scenario(precision="int8"), layer, "cycle").layers[0]
    fp32 = simulate(load_scenario(precision="fp32"), layer, "cycle").layers[0]
    assert fp32.dram_read_bytes / int8.dram_read_bytes > 4
    assert int8.cache_hit_rate > fp32.cache_hit_rate


@pytest.mark.parametrize("precision", ["int8", "fp32", "int4"])
def test_cycle_time_is_never_below_the_analytic_lower_bound(precision: str) -> None:
    scenario = load_scenario(precision=precision)
    cycle = simulate(scenario, SMALL, "cycle")
    analytic = simulate(scenario, SMALL, "analytic")
    for c, a in zip(cycle.layers, analytic.layers, strict=True):
        assert c.cycles >= a.cycles, c.name


def test_bytes_requested_equal_bytes_served(paths: list) -> None:
    """The engine's accounting agrees with the cache's and the DRAM controllers' own counts."""
    run = simulate(load_scenario(), SMALL, "cycle")
    (path,) = paths
    line = path.line_bytes
    cache, dram = path.cache.stats, path.dram.stats()
    totals = run.totals()
    # every line the DMA asked for was a hit or a miss; each miss is one line read from DRAM
    assert totals["cache_hits"] == cache.hits and totals["cache_misses"] == cache.misses
    assert cache.next_level_read_bytes == totals["dram_read_bytes"] == dram.total.bytes_read
    assert totals["cache_misses"] * line == dram.total.bytes_read
    # DRAM bytes are the bus's: stores of partial bursts count whole bursts, as moved
    assert dram.total.bytes_written == totals["dram_write_bytes"]
    assert dram.bytes_requested <= totals["dram_read_bytes"] + totals["dram_write_bytes"]
    for layer in run.layers:
        assert layer.cache_hits + layer.cache_misses >= layer.extra["dma_read_bytes"] / line


def test_same_seed_same_results_and_energy_additive() -> None:
    a = simulate(load_scenario(), SMALL, "cycle").summary()
    b = simulate(load_scenario(), SMALL, "cycle").summary()
    assert a == b
    total = a["totals"]["energy_pj"]
    for part in ("mac", "sram", "dram", "static"):
        assert total[part] == pytest.approx(sum(layer["energy_pj"][part] for layer in a["layers"]))
        assert total[part] > 0


def test_int8_energy_per_inference_beats_fp32_in_every_component() -> None:
    int8 = simulate(load_scenario(precision="int8"), SMALL, "cycle").totals()["energy_pj"]
    fp32 = simulate(load_scenario(precision="fp32"), SMALL, "cycle").totals()["energy_pj"]
    for part in ("mac", "sram", "dram", "total"):
        assert fp32[part] > int8[part]


@settings(max_examples=40, deadline=None)
@given(
    tokens=st.integers(1, 160), in_features=st.integers(1, 400), out_features=st.integers(1, 400),
    capacity_kib=st.sampled_from([16, 64, 256]), channels=st.sampled_from([1, 2, 4]),
    precision=st.sampled_from(["int8", "fp32", "int4"]),
)  # fmt: skip
def test_analytic_bounds_cycle_for_any_shape_and_memory(
    tokens: int, in_features: int, out_features: int, capacity_kib: int, channels: int,
    precision: str,
) -> None:  # fmt: skip
    overrides = [f"sram.capacity={capacity_kib} KiB", "sram.ways=4", f"dram.channels={channels}"]
    scenario = load_scenario(precision=precision, overrides=overrides)
    layer = Workload("w", (Linear("fc", in_features=in_features, out_features=out_features,
                                  tokens=tokens),))  # fmt: skip
    try:
        analytic = simulate(scenario, layer, "analytic").layers[0]
    except CapacityError:
        return
    cycle = simulate(scenario, layer, "cycle").layers[0]
    assert cycle.cycles >= analytic.cycles
    assert cycle.dram_read_bytes >= analytic.dram_read_bytes * 0.999  # line granularity rounds up
    assert cycle.dram_bandwidth_gbps <= 12.8 * channels  # LPDDR5-6400: 12.8 GB/s per x16 channel


def test_dram_energy_of_the_layers_adds_up_to_the_run(paths: list) -> None:
    """Idle gaps between layers are charged once: the layers' DRAM energies sum to the DRAM's
    own energy over the whole run, busy and idle time included."""
    layers = (Linear("big", in_features=2048, out_features=1024),
              *(Linear(f"tiny{i}", in_features=64, out_features=64) for i in range(3)),
              Linear("compute", in_features=256, out_features=256, tokens=2048))  # fmt: skip
    run = simulate(load_scenario(), Workload("w", layers), "cycle")
    (path,) = paths
    whole_run = path.dram.energy_until(path.to_ck(run.totals()["cycles"]))
    assert run.totals()["energy_pj"]["dram"] == pytest.approx(whole_run, rel=1e-9)
    compute_bound = run.layers[-1]
    # 4 channels idle in standby for the whole compute-bound layer, at least
    assert compute_bound.energy_pj.dram > 4 * 37.0 * compute_bound.time_s * 1e9


def test_dram_timing_and_refresh_reach_the_analytic_energy() -> None:
    base = simulate(load_scenario(), GEMV, "analytic").totals()["energy_pj"]["dram"]
    frequent = load_scenario(overrides=["dram.timing.nREFI=400"])
    off = load_scenario(overrides=["dram.refresh=off"])
    assert simulate(frequent, GEMV, "analytic").totals()["energy_pj"]["dram"] > base
    assert simulate(off, GEMV, "analytic").totals()["energy_pj"]["dram"] < base


@pytest.mark.parametrize("mode", ["cache", "scratchpad"])
def test_lines_smaller_than_a_burst_report_the_bytes_the_bus_moved(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """32 B lines over 64 B bursts (BL32): each missed line costs a whole burst on the bus,
    and the reported DRAM bytes and bandwidth say so (they reported half before)."""
    import npusim.engine.cycle as cycle

    built = []
    real = cycle.MemoryPath if mode == "cache" else cycle.ScratchpadPath

    class Recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, scenario: object) -> None:
            super().__init__(scenario)
            built.append(self)

    monkeypatch.setattr(cycle, real.__name__, Recording)
    overrides = ["dram.burst_length=32", "sram.line=32 B", f"sram.mode={mode}"]
    run = simulate(load_scenario(overrides=overrides), SMALL, "cycle")
    dram = built[0].dram.stats().total
    totals = run.totals()
    assert dram.bytes_read == totals["dram_read_bytes"] > 0
    assert dram.bytes_written == totals["dram_write_bytes"]
    bus_gbps = (dram.bytes_read + dram.bytes_written) / totals["time_s"] / 1e9
    assert totals["dram_bandwidth_gbps"] == pytest.approx(bus_gbps)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300), st.integers(1, 300), st.integers(1, 300),
       st.sampled_from(["64 KiB", "256 KiB", "4 MiB"]))  # fmt: skip
def test_step_count_is_the_number_of_steps_the_engine_makes(
    m: int, k: int, n: int, capacity: str
) -> None:
    """The closed form the work bound uses counts exactly the steps the loops yield."""
    from npusim.engine.placement import Placer
    from npusim.engine.residency import plan_network
    from npusim.engine.steps import step_count
    from npusim.workload import Elementwise

    workload = Workload("one", (Linear("fc", in_features=k, out_features=n, tokens=m),
                                Elementwise("act", elements=m * n)))  # fmt: skip
    scenario = load_scenario(overrides=[f"sram.capacity={capacity}"])
    network = plan_network(workload, scenario)
    placer = Placer(1 << 32, network)
    for plan, residency in zip(network.plans, network.layers, strict=True):
        assert step_count(plan) == len(placer.steps(plan, residency))


def test_a_runaway_shape_is_refused_before_any_work() -> None:
    """16384^3 at 256 KiB is 2,097,152 tile steps (hours): a WorkloadError naming the count
    and the way out, raised from the plan alone."""
    from npusim.engine.cycle import MAX_TILE_STEPS
    from npusim.errors import WorkloadError

    workload = Workload("huge", (Linear("big", in_features=16384, out_features=16384,
                                        tokens=16384),))  # fmt: skip
    scenario = load_scenario(overrides=["sram.capacity=256 KiB"])
    with pytest.raises(WorkloadError, match=r"2,097,152 tile steps.*--fidelity analytic"):
        simulate(scenario, workload, "cycle")
    assert MAX_TILE_STEPS < 2_097_152
