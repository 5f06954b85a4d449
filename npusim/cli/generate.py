"""``npusim generate``: prefill a prompt, decode tokens, report time to first token,
tokens/s, energy and DRAM bytes per token (:mod:`npusim.llm`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from npusim.cli import add_overrides_option
from npusim.config import load_scenario
from npusim.config.resolved import bind_workload, default_out_dir, overrides
from npusim.errors import ConfigError, Problem
from npusim.llm.generate import DEFAULT_SAMPLES, GenerateSpec, GenerationResult, run_generate
from npusim.llm.report import generation_text
from npusim.results import short_floats, write_file_atomically
from npusim.simulate import FIDELITIES

if TYPE_CHECKING:
    from npusim.config import Scenario

DEFAULT_WORKLOAD = "llama3_2_1b"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "generate",
        description="Prefill P prompt tokens, then decode N tokens with the KV cache growing; "
        "write generate.json (time to first token, tokens/s, J/token by component, DRAM "
        "bytes per token by kind, bandwidth against its peak and the memory-bound limit).",
    )
    p.add_argument("scenario", nargs="?", help="scenario YAML file or bundled name")
    p.add_argument(
        "--workload",
        "-w",
        default=DEFAULT_WORKLOAD,
        help=f"decoder workload, bundled name or file (default {DEFAULT_WORKLOAD})",
    )
    p.add_argument(
        "--prefill", type=int, default=512, metavar="P", help="prompt tokens (default 512)"
    )
    p.add_argument(
        "--prefill-chunk",
        type=int,
        default=0,
        metavar="C",
        help="prompt tokens per prefill pass, as runtimes chunk long prompts "
        "(default 0: the whole prompt in one pass)",
    )
    p.add_argument(
        "--tokens",
        "-n",
        type=int,
        default=128,
        metavar="N",
        help="tokens to decode per sequence (default 128)",
    )
    p.add_argument(
        "--batch",
        "-b",
        type=int,
        default=1,
        metavar="B",
        help="sequences decoded together, 1 to 64 (default 1)",
    )
    p.add_argument(
        "--samples",
        type=int,
        default=DEFAULT_SAMPLES,
        metavar="S",
        help=f"decode steps (and alike prefill chunks) simulated, spread over the run and "
        f"interpolated between (default {DEFAULT_SAMPLES})",
    )
    p.add_argument(
        "--every-step",
        action="store_true",
        help="simulate every decode step and prefill chunk (exact)",
    )
    p.add_argument("--precision", "-p", help="set weights and activations (int8, fp16, ...)")
    add_overrides_option(p, "precision.kv_cache=int4")
    p.add_argument(
        "--fidelity",
        choices=FIDELITIES,
        default=FIDELITIES[0],
        help="cycle (default) or analytic (roofline lower bound, fast)",
    )
    p.add_argument(
        "--out",
        "-o",
        type=Path,
        help="JSON file to write (default: "
        "reports/<scenario>-<workload>-<precision>-generate-p<P>-n<N>-b<B>-"
        "<fidelity>.json)",
    )
    p.add_argument("--json", action="store_true", help="print the JSON instead of tables")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the file written")
    p.set_defaults(handler=run)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario, args.overrides, precision=args.precision)
    if scenario.frame_rate_hz is not None:  # a frame is one inference of `npusim run`
        where = "--set" if "frame_rate" in overrides(scenario) else scenario.source or None
        raise ConfigError(Problem(
            "frame_rate", "applies to npusim run and sweeps (one inference per frame); "
            "npusim generate reports tokens/s and J per token: leave it out, or --set "
            "frame_rate=null", where))  # fmt: skip
    scenario = bind_workload(scenario, args.workload, {})
    samples = 0 if args.every_step else args.samples
    spec = GenerateSpec(args.prefill, args.tokens, args.batch, samples, args.prefill_chunk)
    hook = None if args.quiet or not sys.stderr.isatty() else _progress
    result = run_generate(scenario, args.workload, spec, args.fidelity, hook)
    out = args.out or _default_out(scenario, result)
    summary = short_floats(result.summary())
    path = write_file_atomically(out, json.dumps(summary, indent=2) + "\n")
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        print()
    elif not args.quiet:
        print(generation_text(result))
        print(f"\nwrote {path}")
    else:
        print(path)
    return 0


def _default_out(scenario: Scenario, result: GenerationResult) -> Path:
    spec = result.spec
    stem = default_out_dir(scenario, result.workload)
    return stem.with_name(f"{stem.name}-generate-p{spec.prefill_tokens}-n{spec.decode_tokens}"
                          f"-b{spec.batch}-{result.fidelity}.json")  # fmt: skip


def _progress(phase: str, kv_len: int, wall_s: float) -> None:
    print(f"{phase} at kv_len {kv_len}: {wall_s:.1f} s wall", file=sys.stderr)
