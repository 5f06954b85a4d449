"""simulate(measure_quality=False) skips the quantizer's per-layer SQNR and nothing else."""

from __future__ import annotations

import pytest

from npusim.config import load_scenario
from npusim.simulate import simulate
from npusim.workload import load_workload


@pytest.mark.parametrize("fidelity", ["analytic", "cycle"])
def test_skipping_the_sqnr_changes_no_figure_of_time_traffic_or_energy(fidelity: str) -> None:
    scenario, workload = load_scenario(precision="int8"), load_workload("mlp")
    measured = simulate(scenario, workload, fidelity)
    skipped = simulate(scenario, workload, fidelity, measure_quality=False)
    assert skipped.totals() == measured.totals()
    for a, b in zip(measured.layers, skipped.layers, strict=True):
        assert "weight_sqnr_db" in a.extra and "weight_sqnr_db" not in b.extra
        assert (a.cycles, a.energy_pj, a.dram_read_bytes) == (b.cycles, b.energy_pj,
                                                              b.dram_read_bytes)  # fmt: skip


def test_data_priced_io_still_measures_the_bytes_it_needs() -> None:
    scenario = load_scenario(precision="int8", overrides=["dram.io_energy=data"])
    workload = load_workload("mlp")
    skipped = simulate(scenario, workload, "analytic", measure_quality=False)
    assert skipped.totals() == simulate(scenario, workload, "analytic").totals()
    assert "weight_io_toggles_per_bit" in skipped.layers[0].extra


def test_a_tensor_over_the_sample_size_is_flagged_sampled() -> None:
    """Tensors of at most SAMPLE_ELEMENTS (2^14) values are measured whole; a larger one on a
    sample, and the layer says so: a 64 x 64 layer (4,096 weights) is not sampled, a
    256 x 256 one (65,536 weights) is; measuring is the default."""
    from npusim.engine.quality import network_quality
    from npusim.workload import Linear, Workload

    small = Workload("small", (Linear("s", in_features=64, out_features=64),))
    large = Workload("large", (Linear("l", in_features=256, out_features=256),))
    scenario = load_scenario(precision="int8")
    [measured_small] = network_quality(small, scenario)
    [measured_large] = network_quality(large, scenario)
    assert measured_small["sqnr_sampled"] is False
    assert measured_large["sqnr_sampled"] is True
    assert measured_small["weight_sqnr_db"] > 0 and measured_large["weight_sqnr_db"] > 0


def test_an_override_of_an_unknown_layer_names_its_key_path_and_file(tmp_path) -> None:
    """Each unknown layer of a per-layer override is one problem at its own key path
    (``precision.layers.<name>`` / ``quantization.layers.<name>``), in the scenario's file."""
    from npusim.engine.quality import check_layer_overrides
    from npusim.errors import ConfigError
    from npusim.workload import Linear, Workload

    path = tmp_path / "s.yaml"
    path.write_text("precision:\n  layers:\n    bb: {weights: int4}\n"
                    "quantization:\n  layers:\n    cc: {granularity: per_tensor}\n")  # fmt: skip
    scenario = load_scenario(path)
    workload = Workload("fc", (Linear("b", in_features=8, out_features=8),))
    with pytest.raises(ConfigError) as err:
        check_layer_overrides(scenario, workload)
    found = [(p.path, p.file) for p in err.value.problems]
    assert found == [("precision.layers.bb", scenario.source),
                     ("quantization.layers.cc", scenario.source)]  # fmt: skip
    assert scenario.source is not None and str(path) in str(scenario.source)


def test_a_layer_without_weights_has_its_inputs_measured() -> None:
    """A matmul of two activations has no weights: its inputs are still quantized and
    measured (the weight entry is skipped, not the loop)."""
    from npusim.engine.quality import network_quality
    from npusim.workload import Matmul, Workload

    [quality] = network_quality(Workload("mm", (Matmul("mm", m=4, k=4, n=4),)),
                                load_scenario(precision="int8"))  # fmt: skip
    assert quality["input_sqnr_db"] > 0 and "weight_sqnr_db" not in quality


@pytest.mark.parametrize("elements", [1, 3])
def test_io_rates_count_whole_beats_of_the_x16_bus(elements: int) -> None:
    """With data-priced I/O a tensor's bytes go out two per beat: one INT8 value fills no
    beat (no bits, rates 0), three fill one beat (its last byte dropped) and one beat has no
    transition to the next."""
    from npusim.engine.quality import network_quality
    from npusim.workload import Workload
    from npusim.workload.vector import Activation

    scenario = load_scenario(precision="int8", overrides=["dram.io_energy=data"])
    [quality] = network_quality(Workload("a", (Activation("a", elements=elements),)), scenario)
    assert quality["input_io_toggles_per_bit"] == 0.0
    if elements == 1:
        assert quality["input_io_ones_per_bit"] == 0.0


def test_dbi_bounds_the_ones_the_weights_put_on_the_bus() -> None:
    """DBI-DC inverts a byte with more than four ones, so with ``dram.dbi`` the measured high
    levels per data bit are at most 0.5 and below the same weights' without it."""
    from npusim.engine.quality import network_quality
    from npusim.workload import Linear, Workload

    workload = Workload("fc", (Linear("l", in_features=64, out_features=64),))
    ones = {}
    for dbi in ("false", "true"):
        scenario = load_scenario(precision="int8",
                                 overrides=["dram.io_energy=data", f"dram.dbi={dbi}"])  # fmt: skip
        ones[dbi] = network_quality(workload, scenario)[0]["weight_io_ones_per_bit"]
    assert ones["true"] <= 0.5 and ones["true"] < ones["false"]
