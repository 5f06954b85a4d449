"""Engine behaviour pinned after a seeded sample of mutants of the simulation modules (issue 18).

``npusim/engine/`` ``cycle``, ``plan``, ``system``, ``steps``, ``analytic`` and ``energy``
(``modes`` has no mutants) give 2,165 mutmut 3.8.1 mutants at af4db61. 800 of them were run
against the README's engine test selection: per module (in alphabetical order, one generator
``numpy.random.default_rng(18)``), the module's mutant names sorted and shuffled with
``rng.permutation``, and the first ``k`` taken, ``k`` proportional to the module's count by
largest remainder (analytic 91, cycle 156, energy 84, plan 219, steps 109, system 141). The
engine tests detected 728 (91.0 %). Of the 72 survivors, 23 read as equivalent; the tests here
kill the other 49 (777 of 800 detected, 97.1 %).
Expected values are worked by hand in each test (or follow from the formula its docstring
cites), not copied from the model's output.
"""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np

from npusim.config import load_scenario
from npusim.dram.energy import default_energy
from npusim.engine.cycle import _occupancy, _simulate_steps, run_cycle
from npusim.engine.plan import activation_bytes, plan_layer, smallest_footprint, weight_spec
from npusim.engine.steps import Step
from npusim.engine.system import ACTIVATION, WEIGHT, LoadPart, MemoryPath, ScratchpadPath
from npusim.workload import Linear, Matmul, Softmax, Workload

# fc1: 2 x 64 -> 32, fc2: 2 x 32 -> 16. INT8 with one FP32 scale per tensor (activations) and
# per output channel (weights): input 128 + 4 = 132 B, fc1 weights 32 x 64 + 32 x 4 = 2,176 B,
# fc1 output 64 + 4 = 68 B, fc2 weights 16 x 32 + 16 x 4 = 576 B, fc2 output 32 + 4 = 36 B.
TWO = Workload("two", (Linear("fc1", 64, 32, tokens=2), Linear("fc2", 32, 16, tokens=2)))
LINE = 64  # the default SRAM line


# --- cycle engine ----------------------------------------------------------------------------


def test_a_step_that_loads_nothing_computes_from_the_cycle_it_claims_a_buffer() -> None:
    # No loads: nothing to wait for, so 7 compute cycles from the start and nothing stored.
    for path in (MemoryPath(load_scenario()),
                 ScratchpadPath(load_scenario(overrides=["sram.mode=scratchpad"]))):  # fmt: skip
        steps = [Step((), 7, None, None, True), Step((), 5, None, None, True)]
        assert _simulate_steps(path, steps, 100) == 112


def test_cache_occupancy_counts_resident_activation_lines_apart_from_weights() -> None:
    """After fc1 the cache holds fc1's output, which fc2 reads (68 B: 2 lines), and fc1's
    weights (2,176 B: 34 lines); the input died with fc1 and was dropped. After fc2, fc1's
    output is dead too, fc2's output went to DRAM (a network output) and fc2's weights
    (576 B: 9 lines) joined fc1's: 43 lines, none of an activation."""
    result = run_cycle(load_scenario(), TWO, measure_quality=False)
    assert result.occupancy["activation_bytes"] == [2 * LINE, 0]
    assert result.occupancy["other_bytes"] == [34 * LINE, 43 * LINE]


def test_scratchpad_occupancy_is_the_allocators_tensors_and_the_layers_buffers() -> None:
    """8 KiB scratchpad (worked in ``test_engine_mutants.test_scratchpad_plan_of_two_layers_by_
    hand``): fc1's 68 B output lives over both layers; the tile buffers take 4,672 B in fc1
    and 1,312 B in fc2."""
    scenario = load_scenario(overrides=["sram.capacity=8 KiB", "sram.mode=scratchpad"])
    result = run_cycle(scenario, TWO, measure_quality=False)
    assert result.occupancy["activation_bytes"] == [68, 68]
    assert result.occupancy["other_bytes"] == [4672, 1312]


def test_the_timeline_lists_each_dram_batch_with_its_layer_and_bytes() -> None:
    """fc1 reads its input (132 B: 3 lines) and weights (34 lines) in one batch: 37 x 64 =
    2,368 B. fc2 finds fc1's output in the cache and reads only its weights (9 lines: 576 B),
    then writes its 36 B output to DRAM: two 32-byte bursts (LPDDR5 x16, BL16), 64 B."""
    result = run_cycle(load_scenario(), TWO, measure_quality=False)
    timeline = result.timeline
    assert timeline["layer"] == ["fc1", "fc2", "fc2"]
    assert timeline["read_bytes"] == [2368, 576, 0]
    assert timeline["write_bytes"] == [0, 0, 64]
    assert [r.dram_read_bytes for r in result.layers] == [2368, 576]
    assert [r.dram_write_bytes for r in result.layers] == [0, 64]
    assert all(s < e for s, e in zip(timeline["start_s"], timeline["end_s"], strict=True))
    assert timeline["end_s"][-1] <= result.layers[0].time_s + result.layers[1].time_s


# --- plan ------------------------------------------------------------------------------------


def test_a_vector_layers_smallest_footprint_is_two_lanes_of_input_and_output() -> None:
    """Double-buffered: 2 x min(input elements, lanes) x (input + output bytes) / element.
    Softmax over 4 x 50 INT8 (200 B + a 4 B scale in, the same out), 64 lanes:
    ceil(2 x 64 x 408 / 200) = ceil(261.12) = 262; over 2 x 10 (24 B each way), fewer
    elements than lanes: 2 x 20 x 48 / 20 = 96."""
    scenario = load_scenario()
    assert scenario.vector.lanes == 64
    wide = plan_layer(Softmax("sm", rows=4, length=50), scenario)
    narrow = plan_layer(Softmax("sm", rows=2, length=10), scenario)
    assert (wide.input.total, wide.output.total) == (204, 204)
    assert smallest_footprint(wide, scenario) == math.ceil(2 * 64 * 408 / 200) == 262
    assert smallest_footprint(narrow, scenario) == 96


# --- memory path -----------------------------------------------------------------------------


def test_a_stores_buffer_is_free_when_its_last_burst_enters_a_write_queue() -> None:
    """The run's first DRAM batch (ticket 0) is a 64 KiB store at core cycle 10. The four
    channels' write queues hold 4 x 32 bursts of 32 B (4 KiB); with requests leaving their
    queue at their column command, the rest enter no faster than the channels write bursts,
    4 x 12.8 GB/s = 51.2 B per 1 GHz core cycle, so the buffer is free no earlier than
    10 + (65,536 - 4,096) / 51.2 = 1,210. A 64 B store fits the queues at once: free at 10."""
    scenario = load_scenario(overrides=["dram.queue_release=column"])
    assert (scenario.dram.channels, scenario.dram.write_queue_depth) == (4, 32)
    assert scenario.clock_hz == 1e9
    path = MemoryPath(scenario)
    store = path.store(np.array([0]), np.array([64 * 1024]), 10, False)
    assert store.ticket == 0
    assert 10 + (65536 - 4096) / 51.2 <= path.freed(store) <= path.ready(store)
    small = MemoryPath(scenario)
    assert small.freed(small.store(np.array([0]), np.array([64]), 10, False)) == 10


def test_operands_are_read_from_the_sram_at_their_stored_width() -> None:
    """W4A8 fc1 (2 x 64 -> 32) on the 64 x 64 output-stationary array is one fold, so each
    input is read once (128 INT8: 128 B) and each weight once (2,048 at 4 bits: 1,024 B);
    the 2 x 32 INT8 outputs are written once (64 B), no partial sum leaves the array."""
    scenario = load_scenario(overrides=["precision.weights=int4"])
    plan = plan_layer(Linear("fc1", 64, 32, tokens=2), scenario)
    assert (scenario.array.rows, scenario.array.cols) == (64, 64)
    assert (plan.timing.input_reads, plan.timing.weight_reads) == (2 * 64, 64 * 32)
    assert plan.sram_operand_bytes == (128 + 1024, 64)
    # an odd count of 4-bit values rounds up to a whole byte: 3 x 4 bits = 12 -> 2 B
    odd = plan_layer(Linear("fc", 3, 1, tokens=1), scenario)
    assert odd.timing.weight_reads == 3
    assert odd.sram_operand_bytes[0] == 3 + 2


def test_a_gemm_plans_energy_parts_are_named_and_add_up() -> None:
    scenario = load_scenario()
    plan = plan_layer(Linear("fc1", 64, 32, tokens=2), scenario)
    parts = plan.op_energy_parts_pj
    assert set(parts) == {"macs", "pe_registers", "accumulator", "requantize", "dequantize"}
    assert parts["macs"] == plan.timing.mac_energy_pj
    assert parts["pe_registers"] == plan.timing.register_energy_pj > 0
    assert math.isclose(sum(parts.values()), plan.op_energy_pj)


def test_a_one_element_vector_layer_reserves_buffers_for_one_element() -> None:
    # 1 INT8 value and its 4 B scale in and out: 2 x 1 x (5 + 5) = 20 B
    scenario = load_scenario()
    plan = plan_layer(Softmax("sm", rows=1, length=1), scenario)
    assert (plan.input.total, plan.output.total) == (5, 5)
    assert smallest_footprint(plan, scenario) == 20


def test_cache_loads_take_hit_latency_plus_the_busiest_banks_lines_and_count_every_fill() -> None:
    """Default SRAM: 2-cycle hit latency, 64 B lines through 64 B ports (1 cycle a line),
    16 banks interleaved by line. A load of one line is done in the SRAM 2 + 1 cycles after
    it is issued (a hit at once, a miss after its DRAM batch: ``tail``); two consecutive
    lines sit in two banks, so also 2 + 1. Fills add up over the loads: 1 + 2 lines."""
    path = MemoryPath(load_scenario())
    one, two = (np.array([0]), np.array([64])), (np.array([4096]), np.array([128]))
    miss = path.load([LoadPart(*one, ACTIVATION)], 100)
    assert (miss.floor, miss.tail) == (103, 3) and miss.ticket >= 0
    hit = path.load([LoadPart(*one, ACTIVATION)], 200)
    assert (hit.floor, hit.ticket) == (203, -1)
    both = path.load([LoadPart(*two, WEIGHT)], 300)
    assert (both.floor, both.tail) == (303, 3)
    c = path.counters
    assert (c.hits_by_kind, c.misses_by_kind) == ([1, 0], [1, 2])
    assert c.sram_fill_bytes == 3 * LINE
    # two parts are two SRAM accesses, one after the other: 3 + 3 cycles (both hit)
    parts = [LoadPart(*one, ACTIVATION), LoadPart(np.array([4096]), np.array([64]), WEIGHT)]
    assert path.load(parts, 400) == (406, -1, 0)
    # a part with no blocks is skipped: nothing to wait for
    empty = np.zeros(0, np.int64)
    assert path.load([LoadPart(empty, empty, ACTIVATION)], 500) == (500, -1, 0)


def test_scratchpad_hits_and_dma_writes_add_up_over_transfers() -> None:
    # 100 B on chip: 2 lines; then 64 B: 1 more. Stores of 40 B (on chip) and 24 B (DRAM).
    path = ScratchpadPath(load_scenario(overrides=["sram.mode=scratchpad"]))
    path.load([LoadPart(np.array([0]), np.array([100]), ACTIVATION, on_chip=True)], 0)
    path.load([LoadPart(np.array([128]), np.array([64]), ACTIVATION, on_chip=True)], 10)
    assert path.counters.hits_by_kind == [3, 0]
    path.store(np.array([256]), np.array([40]), 20, True)
    path.store(np.array([8192]), np.array([24]), 30, False)
    assert (path.counters.dma_write_bytes, path.counters.sram_store_bytes) == (64, 40)


def test_a_vector_layers_fill_and_drain_are_whole_bytes_of_its_chunks() -> None:
    """Softmax over 4 x 50 INT8 (204 B in and out with the scale) in 64-element chunks:
    the first chunk is 64 / 200 of the input, floor(204 x 64 / 200) = floor(65.28) = 65 B;
    the last chunk is 200 - 3 x 64 = 8 elements of output, floor(204 x 8 / 200) = 8 B. What
    stays on chip moves nothing."""
    plan = replace(plan_layer(Softmax("sm", rows=4, length=50), load_scenario()),
                   chunk_elements=64)  # fmt: skip
    first, last = plan.edge_transfers()
    assert (first, last) == (65, 8)
    assert isinstance(first, int) and isinstance(last, int)
    assert plan.edge_transfers(input_on_chip=True) == (0, 8)
    assert plan.edge_transfers(output_on_chip=True) == (65, 0)
    # one chunk of all 200 elements: the whole input is the fill, the whole output the drain
    whole = replace(plan, chunk_elements=200)
    assert whole.edge_transfers() == (204, 204)
    assert whole.edge_transfers(input_on_chip=True, output_on_chip=True) == (0, 0)


def test_a_cycle_layers_sram_energy_counts_operands_results_and_dram_fills() -> None:
    """fc1 in cache mode: the array reads 128 + 2,048 operand bytes (34 port accesses of
    64 B) and nothing leaves for DRAM (its output stays on chip); the SRAM is written the 64 B
    of results and the 37 lines filled from DRAM (2,368 B): 38 port accesses. One access
    touches one of the 16 banks of the 4 MiB SRAM."""
    scenario = load_scenario()
    sram, model = scenario.sram, scenario.energy.sram
    read_pj = model.read_energy_pj(sram.capacity_bytes, 64, 16)
    write_pj = model.write_energy_pj(sram.capacity_bytes, 64, 16)
    fc1 = run_cycle(scenario, TWO, measure_quality=False).layers[0]
    assert math.isclose(fc1.energy_pj.sram, 34 * read_pj + 38 * write_pj)


def test_data_priced_io_energy_is_added_to_each_cycle_layers_dram_energy() -> None:
    """``dram.io_energy: data`` adds ``8 x bytes x io_pj_per_bit x (2r - 1)`` per kind of DRAM
    bytes (:func:`npusim.engine.energy.data_io_energy_pj`), r the measured toggles per bit,
    at LPDDR5's 0.5 pJ/bit I/O: fc1 reads 3 input lines (192 B) and its 2,176 B of weights;
    fc2 reads 576 B of weights and writes 64 B of output. Commands and background are the
    same either way."""
    assert default_energy("LPDDR5_6400").io_pj_per_bit == 0.5
    flat = run_cycle(load_scenario(), TWO).layers
    data = run_cycle(load_scenario(overrides=["dram.io_energy=data"]), TWO).layers
    moved = [{"input": 192, "weight": 2176}, {"weight": 576, "output": 64}]
    for with_data, without, kinds in zip(data, flat, moved, strict=True):
        rates = {k: with_data.extra[f"{k}_io_toggles_per_bit"] for k in kinds}
        added = sum(8 * b * 0.5 * (2 * rates[k] - 1) for k, b in kinds.items())
        assert added != 0
        assert math.isclose(with_data.energy_pj.dram - without.energy_pj.dram, added)


def test_an_empty_activation_takes_no_bytes_and_a_full_one_its_values_and_scale() -> None:
    scenario = load_scenario()
    assert activation_bytes(0, scenario) == 0  # no tensor: no scale either
    assert activation_bytes(64, scenario) == 64 + 4


def test_a_layers_output_is_an_activation_unless_it_appends_to_a_kv_cache() -> None:
    """With an INT4 KV cache, 2 x 32 outputs are 64 INT8 values + a 4 B scale as an
    activation, 64 x 4 bits = 32 B + the scale as KV-cache rows."""
    scenario = load_scenario(overrides=["precision.kv_cache=int4"])
    layer = Linear("fc", 64, 32, tokens=2)
    assert plan_layer(layer, scenario).output.total == 64 + 4
    assert plan_layer(layer, scenario, kv_append=True).output.total == 32 + 4


def test_weight_spec_carries_every_quantization_setting() -> None:
    scenario = load_scenario(overrides=[
        "quantization.calibration=percentile", "quantization.percentile=99.5",
        "quantization.symmetric=false", "quantization.granularity=per_group",
        "quantization.group_size=32", "quantization.scale_format=fp16"])  # fmt: skip
    spec = weight_spec(scenario)
    assert (spec.calibration.value, spec.percentile) == ("percentile", 99.5)
    assert (spec.symmetric, spec.granularity.value, spec.group_size) == (False, "per_group", 32)
    assert (spec.axis, spec.scale_format.value) == (1, "fp16")  # groups run along k


def test_a_gemms_fill_and_drain_are_its_first_tiles_share_of_each_stored_tensor() -> None:
    """2 x 64 -> 32 in 2 x 32 (k) x 16 (n) tiles. Linear: first input tile 2 x 32 of 2 x 64
    -> 132 x 64 / 128 = 66 B, first weight tile 32 x 16 of 64 x 32 -> 2,176 / 4 = 544 B,
    last output tile 2 x 16 of 2 x 32 -> 68 / 2 = 34 B. A matmul's second operand is an
    activation (64 x 32 + a scale: 2,052 B, tile 513 B) that is on chip when its input is."""
    scenario = load_scenario()

    def tiled(layer: object) -> object:
        plan = plan_layer(layer, scenario)
        return replace(plan, tiling=replace(plan.tiling, tm=2, tk=32, tn=16))

    linear = tiled(Linear("fc1", 64, 32, tokens=2))
    assert (linear.input.total, linear.weight.total, linear.output.total) == (132, 2176, 68)
    assert linear.edge_transfers() == (66 + 544, 34)
    assert linear.edge_transfers(input_on_chip=True) == (544, 34)  # weights stay in DRAM
    assert linear.edge_transfers(output_on_chip=True) == (66 + 544, 0)
    matmul = tiled(Matmul("mm", m=2, k=64, n=32))
    assert (matmul.input.total, matmul.weight.total) == (132, 2052)
    assert matmul.edge_transfers() == (66 + 513, 34)
    assert matmul.edge_transfers(input_on_chip=True) == (0, 34)


def test_cache_stores_take_port_time_and_spills_and_stores_add_up() -> None:
    """A 4 KiB cache (64 lines of 64 B, 16 banks, 2-cycle hit latency). Storing 4 KiB on
    chip at cycle 100 writes 4 lines into each bank: ready at 100 + 2 + 4; 100 B more at 200
    are 2 lines in two banks: 200 + 2 + 1. The cache is now all dirty, so two loads of
    32 new lines each evict 32 dirty lines each: 2 x 2,048 B written back."""
    path = MemoryPath(load_scenario(overrides=["sram.capacity=4 KiB"]))
    whole = path.store(np.array([0]), np.array([4096]), 100, True)
    assert (path.ready(whole), whole.ticket) == (106, -1)
    assert path.ready(path.store(np.array([0]), np.array([100]), 200, True)) == 203
    c = path.counters
    assert (c.sram_store_bytes, c.dma_write_bytes, c.output_write_bytes) == (4196, 4196, 0)
    for base, now in ((1 << 20, 300), (2 << 20, 400)):
        path.load([LoadPart(np.array([base]), np.array([2048]), ACTIVATION)], now)
    assert c.spill_write_bytes == 2 * 2048


def test_occupancy_counts_lines_inside_activation_regions_only() -> None:
    """Activation tensors at [4096, 4224) and [8192, 12288); resident lines below the first,
    at each region's end and past the last are other data (weights, a dead tensor's)."""
    lines = [0, 4096, 4160, 4224, 8192, 12224, 12288, 16384]
    path = SimpleNamespace(resident_lines=lambda: np.array(lines, np.int64), line_bytes=64)
    placer = SimpleNamespace(bases={"b": 8192, "a": 4096})
    network = SimpleNamespace(tensor_bytes={"a": 128, "b": 4096})
    # inside: 4096, 4160 (a) and 8192, 12224 (b); the other four are not
    assert _occupancy(path, placer, network, 0, 77) == (77, 4 * 64, 4 * 64)


def test_tile_steps_of_a_vector_layer_are_its_64_kib_chunks() -> None:
    """Softmax over 64 x 1,024 INT8 (65,536 B + a 4 B scale): chunks of floor(65,536 x
    65,536 / 65,540) = 65,531 elements stream 64 KiB of input each, so 2 steps."""
    layer = Softmax("sm", rows=64, length=1024)
    result = run_cycle(load_scenario(), Workload("sm", (layer,)), measure_quality=False)
    assert result.layers[0].extra["tile_steps"] == 2


def test_clock_conversions_round_up_and_keep_exact_multiples() -> None:
    """LPDDR5-6400's CK is 800 MHz (6,400 MT/s over 8 beats a CK); the core runs at 1 GHz,
    so 4 CK are exactly 5 core cycles and 1 CK (1.25 cycles) is ready at the 2nd."""
    path = MemoryPath(load_scenario())
    assert (path.ck_hz, path.core_hz) == (800e6, 1e9)
    assert [path.to_core(ck) for ck in (0, 1, 4, 8, 9)] == [0, 2, 5, 10, 12]
    assert [path.to_ck(core) for core in (0, 1, 5, 6, 10)] == [0, 1, 4, 5, 8]


def test_a_cycle_run_reports_progress_peak_bandwidth_and_dram_commands() -> None:
    """Progress after each layer: (done, of, name, seconds simulated so far). Peak: 4 x16
    channels at 6,400 MT/s, 4 x 12.8 = 51.2 GB/s. The DRAM moved (2,368 + 576) B of reads and
    64 B of writes in 32 B bursts: 92 RD and 2 WR, each a row hit, miss or conflict."""
    calls: list[tuple] = []
    result = run_cycle(load_scenario(), TWO, progress=lambda *a: calls.append(a),
                       measure_quality=False)  # fmt: skip
    first, second = (layer.time_s for layer in result.layers)
    assert [c[:3] for c in calls] == [(1, 2, "fc1"), (2, 2, "fc2")]
    assert math.isclose(calls[0][3], first) and math.isclose(calls[1][3], first + second)
    assert result.dram_peak_gbps == 51.2
    dram = result.extra["dram"]
    assert (dram["command_counts"]["RD"], dram["command_counts"]["WR"]) == (92, 2)
    assert dram["row_hits"] + dram["row_misses"] + dram["row_conflicts"] == 94


def test_a_vector_layers_op_energy_takes_the_scenarios_mac_energy_override() -> None:
    # each of the layer's vector ops costs one INT8 MAC: 1.5 pJ when energy.mac sets it
    scenario = load_scenario(overrides=["energy.mac.int8=1.5 pJ"])
    layer = Softmax("sm", rows=4, length=50)
    plan = plan_layer(layer, scenario)
    assert plan.vector_ops == layer.vector_ops > 0
    assert math.isclose(plan.op_energy_pj, layer.vector_ops * 1.5)


def test_dequantize_energy_is_one_multiply_per_weight_read_at_the_node() -> None:
    """W4A16, symmetric (no zero point to subtract): each of the 2,048 weight reads is
    dequantized by one FP16 multiply, 1.1 pJ at 45 nm (Horowitz, ISSCC 2014): 2,252.8 pJ.
    At 7 nm all logic scales by one node factor, the MACs' as the dequantizer's."""
    parts = {}
    for node in ("45nm", "7nm"):
        scenario = load_scenario(overrides=[
            "precision.weights=int4", "precision.activations=fp16",
            "precision.accumulator=fp32", f"energy.node={node}"])  # fmt: skip
        plan = plan_layer(Linear("fc", 64, 32, tokens=2), scenario)
        assert plan.timing.weight_reads == 2048
        parts[node] = plan.op_energy_parts_pj
    assert math.isclose(parts["45nm"]["dequantize"], 2048 * 1.1)
    node_factor = parts["7nm"]["macs"] / parts["45nm"]["macs"]
    assert node_factor < 0.5
    assert math.isclose(parts["7nm"]["dequantize"], 2048 * 1.1 * node_factor)


def test_small_groups_move_in_bundles_that_keep_eight_steps_and_fit_the_sram() -> None:
    """A batched 2 x 64 x 32 matmul: one group's whole tile takes 4,672 B double-buffered
    (2 x (128 + 2,048) B of operands + 64 x 5 B of output and accumulator), so a 4 MiB SRAM
    fits hundreds. Bundles keep at least 8 steps: floor(groups / 8), at least 1; a 16 KiB
    SRAM fits floor(16,384 / 4,672) = 3 per bundle."""
    big = load_scenario()
    small = load_scenario(overrides=["sram.capacity=16 KiB"])
    expected = {4: 1, 15: 1, 16: 2, 32: 4}
    for groups, bundle in expected.items():
        plan = plan_layer(Matmul("mm", m=2, k=64, n=32, batch=groups), big)
        assert plan.tiling.footprint_bytes == 4672
        assert plan.group_bundle == bundle
    assert plan_layer(Matmul("mm", m=2, k=64, n=32, batch=32), small).group_bundle == 3
