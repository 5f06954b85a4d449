"""Generation runs (npusim/llm/generate.py) on a tiny Llama-shaped model in cycle fidelity,
against hand counts of its weights and KV cache and against simulating every decode step."""

from __future__ import annotations

from pathlib import Path

import pytest

from npusim.config import load_scenario
from npusim.errors import ConfigError
from npusim.llm.generate import GenerateSpec, GenerationResult, run_generate
from npusim.llm.kinds import LLM_KINDS
from npusim.llm.sampling import sum_over_steps
from npusim.llm.zoo import LlamaShape, write_llama_workload
from npusim.simulate import simulate
from npusim.workload import load_workload

# Small enough to simulate every step in seconds, with a KV cache about as large as its
# weights, growing by a quarter over the run: d = 64, 2 blocks, 2 query and 2 KV heads of 32,
# MLP 128, vocabulary 128.
TINY = LlamaShape(d=64, blocks=2, heads=2, kv_heads=2, head_dim=32, mlp=128, vocab=128)
# weights by hand: per block Q, K, V, O 4 x 64 x 64 + gate, up, down 3 x 64 x 128; LM head
TINY_WEIGHTS = 2 * (4 * 64 * 64 + 3 * 64 * 128) + 64 * 128  # 90,112
KV_BYTES_PER_ROW = 2 * 2 * 2 * 32  # blocks x (K, V) x KV heads x head_dim, INT8: 256
PROMPT, STEPS = 256, 64
BURST_BYTES = 32  # LPDDR5 x16, burst length 16


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_llama_workload(tmp_path_factory.mktemp("llm") / "tiny.yaml", "tiny", TINY)


@pytest.fixture(scope="module")
def every_step(tiny: Path) -> GenerationResult:
    return run_generate(load_scenario(), tiny, GenerateSpec(PROMPT, STEPS, samples=0), "cycle")


@pytest.fixture(scope="module")
def sampled(tiny: Path) -> GenerationResult:
    return run_generate(load_scenario(), tiny, GenerateSpec(PROMPT, STEPS, samples=5), "cycle")


def test_every_step_runs_each_kv_length_once(every_step: GenerationResult) -> None:
    assert [p.kv_len for p in every_step.decode.simulated] == list(range(PROMPT, PROMPT + STEPS))
    assert every_step.prefill.simulated[0].kv_len == 0
    assert every_step.decode.tokens == STEPS


def test_every_step_is_the_sum_of_plain_simulate_runs(
    tiny: Path, every_step: GenerationResult
) -> None:
    """Decode step 0 and 63 simulated with simulate() directly (the second reference)."""
    scenario = load_scenario()
    times = [simulate(scenario, load_workload(tiny, {"tokens": 1, "kv_len": PROMPT + i}),
                      "cycle").totals()["time_s"] for i in (0, STEPS - 1)]  # fmt: skip
    assert every_step.decode.simulated[0].time_s == times[0]
    assert every_step.decode.simulated[-1].time_s == times[1]
    assert every_step.decode.time_s == pytest.approx(
        sum(p.time_s for p in every_step.decode.simulated), rel=1e-12
    )


def test_sampling_error_is_bounded_against_every_step(
    every_step: GenerationResult, sampled: GenerationResult
) -> None:
    """Five sampled steps of 64: the KV bytes (affine in the step) are exact; time and energy
    are within 0.2 % of simulating every step (measured: 0.08 % and 0.01 %, from the cycle
    model's step-to-step ripple of up to 2.3 %: refresh and row conflicts landing
    differently); a sum that dropped or doubled one step would be 1.6 % off."""
    exact, approx = every_step.decode, sampled.decode
    assert [p.kv_len - PROMPT for p in approx.simulated] == [0, 16, 32, 47, 63]
    assert approx.time_s == pytest.approx(exact.time_s, rel=2e-3)
    assert approx.energy_pj.total == pytest.approx(exact.energy_pj.total, rel=2e-3)
    assert approx.bytes_by_kind["weights"] == exact.bytes_by_kind["weights"]
    assert approx.bytes_by_kind["kv_read"] == pytest.approx(exact.bytes_by_kind["kv_read"],
                                                            rel=1e-12)  # fmt: skip
    # the sampled passes are the same simulations: their chords, summed here, are the result
    steps = [p.kv_len - PROMPT for p in approx.simulated]
    values = [exact.simulated[i].time_s for i in steps]
    assert approx.time_s == pytest.approx(sum_over_steps(steps, values), rel=1e-12)


def test_decode_traffic_by_kind_matches_hand_counts(every_step: GenerationResult) -> None:
    """INT8: every weight once per step; the KV cache read is the prompt plus the steps so
    far plus the new row, 256 B a row, at least (the cycle model moves whole 64 B lines of
    each head's 32-byte rows, so at most one more line per head and block and operand)."""
    decode = every_step.decode
    assert decode.bytes_by_kind["weights"] == STEPS * TINY_WEIGHTS
    kv_rows = sum(PROMPT + i + 1 for i in range(STEPS))
    assert decode.bytes_by_kind["kv_read"] >= kv_rows * KV_BYTES_PER_ROW
    assert decode.bytes_by_kind["kv_read"] <= kv_rows * KV_BYTES_PER_ROW + STEPS * 8 * 64
    # one row appended per step: 4 tensors (K, V x 2 blocks) of 64 B and their scales, each
    # written in whole bursts (the bus bytes of the cycle model), so at most one more each
    appended = decode.bytes_by_kind["kv_write"]
    assert STEPS * KV_BYTES_PER_ROW <= appended <= STEPS * (KV_BYTES_PER_ROW + 4 * BURST_BYTES)
    assert sum(decode.bytes_by_kind[k] for k in LLM_KINDS) == decode.dram_bytes


def test_decode_time_is_bounded_below_by_bytes_over_peak(every_step: GenerationResult) -> None:
    """No step moves its bytes faster than the 51.2 GB/s peak; the weights and KV cache alone
    (counted by hand) already take that long."""
    peak_bytes_per_s = 51.2e9
    for p, i in zip(every_step.decode.simulated, range(STEPS), strict=True):
        assert p.time_s >= (p.dram_read_bytes + p.dram_write_bytes) / peak_bytes_per_s
        hand = TINY_WEIGHTS + (PROMPT + i + 1) * KV_BYTES_PER_ROW
        assert p.time_s >= hand / peak_bytes_per_s
    assert every_step.decode.tokens_per_s <= every_step.decode.limit_tokens_per_s


def test_generation_is_deterministic(tiny: Path, sampled: GenerationResult) -> None:
    again = run_generate(load_scenario(), tiny, GenerateSpec(PROMPT, STEPS, samples=5), "cycle")
    assert again.summary() == sampled.summary()


def test_batch_decode_reads_weights_once_per_step(tiny: Path) -> None:
    """Batch 8: the weights once per step, eight KV caches (one per sequence)."""
    runs = {b: run_generate(load_scenario(), tiny, GenerateSpec(PROMPT, 4, batch=b, samples=0),
                            "cycle").decode for b in (1, 8)}  # fmt: skip
    assert runs[8].bytes_by_kind["weights"] == runs[1].bytes_by_kind["weights"] == 4 * TINY_WEIGHTS
    kv_rows = sum(PROMPT + i + 1 for i in range(4))
    assert runs[8].bytes_by_kind["kv_read"] >= 8 * kv_rows * KV_BYTES_PER_ROW
    assert runs[8].tokens == 8 * 4 and runs[1].tokens == 4


def test_prefill_is_one_pass_with_the_last_positions_logits(every_step: GenerationResult) -> None:
    """The prompt's K and V rows are appended once; the LM head runs on one position."""
    prefill = every_step.prefill
    assert prefill.tokens == PROMPT and prefill.passes == 1
    # the rows, their scales and whole-burst tile writes (measured: +0.46 %)
    appended = prefill.bytes_by_kind["kv_write"]
    assert PROMPT * KV_BYTES_PER_ROW <= appended <= PROMPT * KV_BYTES_PER_ROW * 1.01
    assert every_step.time_to_first_token_s == prefill.time_s


def test_a_chunked_prefill_reads_the_lm_head_once(tiny: Path) -> None:
    """256 prompt tokens in chunks of 64: four passes at KV lengths 0, 64, 128, 192, each
    reading the blocks' weights, only the last the LM head (64 x 128); each chunk reads the
    cache so far plus its own rows and appends its rows. Two sampled chunks of the three
    alike ones give the same bytes (affine in the chunk index)."""
    block_weights = TINY_WEIGHTS - 64 * 128
    kv_rows_read = sum(kv + 64 for kv in (0, 64, 128, 192))
    for samples in (0, 2):
        spec = GenerateSpec(PROMPT, 1, samples=samples, prefill_chunk=64)
        prefill = run_generate(load_scenario(), tiny, spec, "analytic").prefill
        assert prefill.passes == 4 and prefill.tokens == PROMPT
        assert prefill.bytes_by_kind["weights"] == 4 * block_weights + 64 * 128
        assert prefill.bytes_by_kind["kv_read"] == pytest.approx(kv_rows_read * KV_BYTES_PER_ROW)
        assert prefill.bytes_by_kind["kv_write"] == pytest.approx(PROMPT * KV_BYTES_PER_ROW)
    assert [p.kv_len for p in prefill.simulated] == [0, 128, 192]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"prefill_tokens": 0, "decode_tokens": 4}, "prefill: expected an integer >= 1"),
        ({"prefill_tokens": 4, "decode_tokens": 4, "batch": 65}, "batch: expected at most 64"),
        ({"prefill_tokens": 4, "decode_tokens": 4, "samples": 1}, "samples: expected 0"),
        (
            {"prefill_tokens": 4, "decode_tokens": 4, "prefill_chunk": -1},
            "prefill_chunk: expected an integer >= 0",
        ),
    ],
)
def test_bad_specs_are_config_errors(spec: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        GenerateSpec(**spec)


def test_a_workload_without_decoder_parameters_is_refused() -> None:
    with pytest.raises(ConfigError, match="gpt2_decode is not a decoder pass"):
        run_generate(load_scenario(), "gpt2_decode", GenerateSpec(4, 4), "analytic")


@pytest.mark.parametrize(
    ("spec", "passes"),
    [(GenerateSpec(100, 9, samples=0, prefill_chunk=30), 3 + 1 + 9),
     (GenerateSpec(100, 9, samples=4, prefill_chunk=30), 3 + 1 + 4),
     (GenerateSpec(100, 9, samples=5), 1 + 5)],
)  # fmt: skip
def test_the_passes_a_run_simulates_are_counted_before_it_runs(
    tiny: Path, spec: GenerateSpec, passes: int
) -> None:
    """Prefill 100 in chunks of 30: 3 whole chunks before the last pass; decode 9 steps."""
    seen: list[int] = []
    run_generate(load_scenario(), tiny, spec, "analytic", lambda *_: seen.append(1))
    assert spec.simulated_passes == len(seen) == passes


def test_a_run_of_too_many_simulated_passes_is_refused_at_once() -> None:
    """--samples 100000 over 100,000 tokens would simulate 100,001 passes (hours)."""
    with pytest.raises(ConfigError, match="would simulate 100,001 passes, at most 1024"):
        GenerateSpec(16, 100_000, samples=100_000)
    assert GenerateSpec(16, 100_000, samples=1000).simulated_passes == 1001
