"""Input generators of ``tools/fuzz.py``: one function per input kind, ``rng -> (argv, files)``.

Structured files start from a bundled one (so most cases get past the parser and reach the
model) and apply one to three mutations: a key set to a hostile value, a key removed, an
unknown key added, a mapping replaced by a scalar; some cases also get raw-text damage
(truncation, flipped bytes, a YAML anchor or alias, a NUL byte).
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
Files = dict[str, bytes]
Generator = Callable[[random.Random], tuple[list[str], Files]]

HOSTILE: list[Any] = [
    0, -1, 1, 2, 3, 7, 2**31 - 1, 2**31, 2**63, -(2**63), 2**64 + 1, 10**30, 1e20, 1e-30, -1e-30,
    1e300, -1e300, float("nan"), float("inf"), float("-inf"), 0.5, "", " ", "\x00", "a" * 300,
    "²", "--1", "1 TiB", "64 GiB", "0 B", "-1 MiB", "3 B", "1e20 Hz", "0 Hz", "1 PB", "1e300 J",
    "7 MiB", "1.5 KiB", True, False, None, [], {}, [1, 2], {"a": 1}, "../../x", "/dev/zero",
    "é", "\n", "1_000", "0x10", "1e309", "nan", "int3", "fp8", "w4a8", "int4", "binary",
]  # fmt: skip
SMALL_WORKLOADS = ("mlp", "digits_mlp", "gemv_4096", "digits_cnn", "resnet50_layers")
SET_KEYS = (
    "sram.capacity", "sram.line", "sram.ways", "sram.banks", "sram.hit_latency", "sram.mshrs",
    "sram.port_width", "sram.mode", "dram.channels", "dram.burst_length", "dram.timing.nRCD",
    "dram.timing.nFAW", "dram.preset", "array.rows", "array.cols", "array.dataflow",
    "array.macs_per_pe_per_cycle.int8", "array.accumulator_bytes", "clock", "seed", "name",
    "vector.lanes", "precision.weights", "quantization.group_size", "energy.mac_int8_pj",
    "quantization.granularity", "dram.write_high_watermark", "frame_rate",
    "dram.power_down_after", "dram.self_refresh_after", "no.such.key",
)  # fmt: skip
PARAMS = ("batch", "seq_len", "kv_len", "prompt", "x")
PRECISIONS = ("int8", "int4", "fp16", "fp32", "w4a8", "binary", "int2", "bogus", "")


def _value(rng: random.Random, like: Any = None) -> Any:
    """A hostile value, or (half the time when ``like`` is given) a plausible variant of
    ``like``: scaled, or with another unit, so the case gets past validation into the model."""
    if like is None or rng.random() < 0.5:
        return rng.choice(HOSTILE)
    if isinstance(like, bool) or like is None:
        return not like
    if isinstance(like, int | float):
        return type(like)(like * rng.choice([0, 0.5, 2, 3, 16, 1 / 16]))
    if isinstance(like, str) and like[:1].isdigit():
        unit = like.partition(" ")[2]
        return f"{rng.choice([1, 2, 3, 7, 64, 1000, 0.5])} {unit}".strip()
    return like


def _text(rng: random.Random) -> str:
    value = _value(rng)
    return value if isinstance(value, str) else yaml.safe_dump(value).split("\n")[0]


def _paths(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path (mapping keys and list indices) inside ``tree``."""
    found = [prefix] if prefix else []
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree[:50]):
            found += _paths(value, (*prefix, i))
    return found


def mutate_tree(rng: random.Random, tree: Any) -> Any:
    """``tree`` with one to three structural mutations applied (in place)."""
    for _ in range(rng.randint(1, 3)):
        paths = _paths(tree)
        if not paths:
            return tree
        path = rng.choice(paths)
        parent = tree
        for key in path[:-1]:
            parent = parent[key]
        action = rng.random()
        if action < 0.65:
            parent[path[-1]] = _value(rng, parent[path[-1]])
        elif action < 0.75 and isinstance(parent, dict):
            del parent[path[-1]]
        elif action < 0.85 and isinstance(parent, dict):
            parent[rng.choice(["extends", "typo_key", "name", "type", "layers"])] = _value(rng)
        elif isinstance(parent, list):
            parent.append(parent[path[-1]] if rng.random() < 0.5 else _value(rng))
        else:
            parent[path[-1]] = rng.choice([[_value(rng)], {"x": _value(rng)}, _value(rng)])
    return tree


def damage_text(rng: random.Random, text: bytes) -> bytes:
    """Raw damage to a file's bytes: truncation, a flipped byte or an inserted token."""
    if not text:
        return text
    at = rng.randrange(len(text))
    choice = rng.random()
    if choice < 0.3:
        return text[:at]
    if choice < 0.6:
        return text[:at] + bytes([rng.randrange(256)]) + text[at + 1 :]
    token = rng.choice([b"&a ", b"*a", b"\t", b": ", b"- ", b"{", b"\x00", b"\xff\xfe", b"'",
                        b"!!python/object:os.system ", b"<<: *a\n", b"\n  "])  # fmt: skip
    return text[:at] + token + text[at:]


def _yaml_file(rng: random.Random, source: Path) -> bytes:
    tree = mutate_tree(rng, yaml.safe_load(source.read_text()))
    text = yaml.safe_dump(tree, sort_keys=False, allow_unicode=True).encode()
    return damage_text(rng, text) if rng.random() < 0.2 else text


def _run_options(rng: random.Random) -> list[str]:
    options = ["--no-plots", "-q", "--out", "o"]
    options += ["--fidelity", "cycle" if rng.random() < 0.15 else "analytic"]
    if rng.random() < 0.2:
        options += ["--precision", rng.choice(PRECISIONS)]
    return options


def scenario(rng: random.Random) -> tuple[list[str], Files]:
    """A mutated bundled scenario, validated or run on a small workload."""
    source = rng.choice(sorted((ROOT / "hw_configs").glob("*.yaml")))
    files = {"s.yaml": _yaml_file(rng, source)}
    if rng.random() < 0.3:
        return ["validate", "s.yaml"], files
    return ["run", "s.yaml", "-w", rng.choice(SMALL_WORKLOADS[:3]), *_run_options(rng)], files


def workload(rng: random.Random) -> tuple[list[str], Files]:
    """A mutated small bundled workload, validated or run."""
    source = ROOT / "workloads" / f"{rng.choice(SMALL_WORKLOADS)}.yaml"
    files = {"w.yaml": _yaml_file(rng, source)}
    if rng.random() < 0.3:
        return ["validate", "w.yaml"], files
    return ["run", "-w", "w.yaml", *_run_options(rng)], files


def sweep(rng: random.Random) -> tuple[list[str], Files]:
    """A mutated one-or-two-point sweep file, validated or run with one job."""
    tree: dict[str, Any] = {
        "name": "f", "scenario": "lpddr5_51gbps_4mib", "workloads": ["mlp"],
        "fidelity": "analytic", "axes": {"precision": ["int8", "int4"]},
    }  # fmt: skip
    if rng.random() < 0.5:
        tree["axes"][rng.choice(SET_KEYS)] = [_value(rng)]
    files = {"f.yaml": yaml.safe_dump(mutate_tree(rng, tree), allow_unicode=True).encode()}
    if rng.random() < 0.3:
        return ["validate", "f.yaml"], files
    return ["sweep", "f.yaml", "-j", "1", "-q", "--no-report", "--out", "o"], files


def _trace_number(rng: random.Random) -> str:
    if rng.random() < 0.98:
        return rng.choice([str(rng.randrange(2**20)), hex(rng.randrange(2**32)), "64", "32"])
    return rng.choice(["0", "-1", "0x", str(2**64), "1e3", "zz", "1073741824", hex(2**63)])


def trace(rng: random.Random) -> tuple[list[str], Files]:
    """A short DRAM or cache trace, untimed or timed, with hostile fields, and options."""
    timed = rng.random() < 0.4
    lines = []
    cycle = 0
    for _ in range(rng.randint(0, 20)):
        op = rng.choice(["R", "W"] if timed else ["LD", "ST"]) if rng.random() > 0.01 else "XX"
        size = (
            rng.choice(["32", "64", "128", "4096"]) if rng.random() < 0.98 else _trace_number(rng)
        )
        fields = [op, _trace_number(rng)] + ([size] if rng.random() < 0.7 else [])
        if timed:
            cycle += rng.choice([0, 1, 10, 1000])
            fields.insert(0, str(cycle))
        lines.append(" ".join(fields))
    text = ("\n".join(lines) + "\n").encode()
    files = {"t.trc": damage_text(rng, text) if rng.random() < 0.1 else text}
    command = rng.choice(["dram", "cache"])
    return [command, "t.trc", *_trace_options(rng, command)], files


def _trace_options(rng: random.Random, command: str) -> list[str]:
    if command == "dram":
        pool = {"--channels": ["1", "2", "3", "0", "-1", "64"], "--burst-length": ["16", "32", "0"],
                "--page": ["open", "closed", "x"], "--refresh": ["off", "per-bank", "?"],
                "--scheduler": ["fcfs", "frfcfs", "nope"]}  # fmt: skip
    else:
        pool = {"--capacity": ["4MiB", "1 KiB", "0", "-1 KiB", "3 KiB", "x"],
                "--line": ["64", "32", "0", "-64", "48"], "--ways": ["1", "0", "16", "3"],
                "--memory-latency": ["10", "0", "-1", "1e20", "5"],
                "--hit-latency": ["2", "0", "-3"], "--replacement": ["lru", "random", "?"],
                "--banks": ["16", "0", "3"], "--mshrs": ["0", "1", "-1"]}  # fmt: skip
    options = []
    for name in rng.sample(sorted(pool), rng.randint(0, 3)):
        options += [name, pool[name][0] if rng.random() < 0.5 else rng.choice(pool[name])]
    return options


def _array(rng: random.Random) -> np.ndarray:
    shape = rng.choice([(0,), (3, 0), (), (1,), (7,), (4, 5), (2, 3, 4), (64, 64), (1, 1, 1, 1)])
    dtype = rng.choice(["float32", "float64", "float16", "int8", "int64", "bool", "complex64"])
    fill = rng.choice(["normal", "nan", "inf", "zero", "huge", "tiny", "const", "mixed"])
    values = np.random.default_rng(rng.randrange(2**32)).normal(size=shape)
    special = {"nan": np.nan, "inf": np.inf, "zero": 0.0, "huge": -3.4e38, "tiny": 1e-45,
               "const": 1.0}  # fmt: skip
    if fill in special:
        values = np.full(shape, special[fill])
    elif fill == "mixed" and values.size:
        values.flat[0] = rng.choice([1e37, np.nan, -np.inf, 1e-40])
    with np.errstate(all="ignore"):
        return values.astype(dtype)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def tensor(rng: random.Random) -> tuple[list[str], Files]:
    """``npusim quantize`` of a hostile .npy (empty, NaN, extremes, odd dtypes, damaged)."""
    data = _npy_bytes(_array(rng)) if rng.random() > 0.05 else b""
    files = {"x.npy": damage_text(rng, data) if rng.random() < 0.1 else data}
    pool = {"--bits": ["1", "2", "4", "8", "16", "0", "17", "-3"],
            "--granularity": ["per_tensor", "per_channel", "per_group", "x"],
            "--axis": ["0", "1", "-1", "5"], "--group-size": ["1", "2", "16", "0", "-2"],
            "--calibration": ["minmax", "percentile", "entropy", "mse", "?"],
            "--percentile": ["99.99", "0", "100", "1e-300", "nan", "-1"],
            "--format": ["int", "binary", "fp16", "bf16", "fp8_e4m3", "fp8_e5m2", "fp4"],
            }  # fmt: skip
    options = [flag for flag in ("--symmetric", "--unsigned", "--compare", "--json")
               if rng.random() < 0.25]  # fmt: skip
    for name in rng.sample(sorted(pool), rng.randint(0, 4)):
        options += [name, rng.choice(pool[name])]
    return ["quantize", "x.npy", *options], files


def dataset(rng: random.Random) -> tuple[list[str], Files]:
    """``npusim run --accuracy`` on a hostile .npz of inputs and labels."""
    arrays = {}
    if rng.random() < 0.9:
        arrays["inputs"] = _array(rng) if rng.random() < 0.5 else np.zeros((4, 64), "float32")
    if rng.random() < 0.9:
        arrays["labels"] = rng.choice([np.arange(4), np.array([]), np.array([1.5, 2]),
                                       np.array([10**9] * 4), np.zeros((2, 2), int)])  # fmt: skip
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = damage_text(rng, buffer.getvalue()) if rng.random() < 0.1 else buffer.getvalue()
    argv = ["run", "-w", rng.choice(["digits_mlp", "digits_cnn"]), "--accuracy", "d.npz"]
    return [*argv, "--fidelity", "analytic", "--no-plots", "-q", "--out", "o"], {"d.npz": data}


def options(rng: random.Random) -> tuple[list[str], Files]:
    """A command with hostile option values: --set, --param, GEMM sizes, generate counts."""
    command = rng.choice(["run", "run", "generate", "array", "validate", "list", "schema"])
    if command == "run":
        argv = ["run", "-w", rng.choice(SMALL_WORKLOADS[:3]), *_run_options(rng)]
        for _ in range(rng.randint(0, 3)):
            argv += ["--set", f"{rng.choice(SET_KEYS)}={_text(rng)}"]
        if rng.random() < 0.3:
            argv += ["--param", f"{rng.choice(PARAMS)}={_text(rng)}"]
        return argv, {}
    if command == "generate":
        argv = ["generate", "--fidelity", "analytic", "--out", "g.json"]
        for name in rng.sample(["--prefill", "--tokens", "--batch", "--samples",
                                "--prefill-chunk"], rng.randint(1, 3)):  # fmt: skip
            argv += [name, rng.choice(["1", "0", "-1", "65", "2", "100000", "x", "1e3"])]
        return argv, {}
    if command == "array":
        sizes = [rng.choice(["1", "0", "-4", "64", "2147483647", "x", "99999"]) for _ in range(3)]
        return ["array", "--gemm", *sizes, "--rows", rng.choice(["32", "0", "1", "-1"])], {}
    if command == "validate":
        return ["validate", rng.choice(["/dev/null", "nope.yaml", ".", "a" * 300])], {}
    return [command, *rng.choice([[], ["--x"], ["scenario"], ["bogus"]])], {}


USER_FILES: dict[str, bytes] = {
    "d/holiday.png/IMG.jpg": b"x", "d/summary.json": b"mine", "site/index.html": b"<p>mine",
    "notes.txt": b"keep", "run/.npusim-output": b"npusim-output 1 run\n../notes.txt\n",
    "lnk": b"\0symlink:gone/target", "sw/.npusim-output": b"npusim-output 1 sweep\n",
}  # fmt: skip
OUT_TARGETS = ("d", "site", ".", "notes.txt", "run", "lnk", "lnk/sub", "sw", "new", "d/holiday.png")


def outdir(rng: random.Random) -> tuple[list[str], Files]:
    """An output folder that is the user's (files npusim did not write, a crafted marker, a
    dangling link): run, sweep or plot into it; the harness checks nothing was lost."""
    files = dict(rng.sample(sorted(USER_FILES.items()), rng.randint(1, len(USER_FILES))))
    files["f.yaml"] = b"name: f\nscenario: lpddr5_51gbps_4mib\nworkloads: [mlp]\n"
    out = rng.choice(OUT_TARGETS)
    argv = rng.choice([["run", "-w", "mlp", "--fidelity", "analytic", "-q"],
                       ["run", "-w", "mlp", "-q", "--fidelity", "cycle"],
                       ["sweep", "f.yaml", "-j", "1", "-q"]])  # fmt: skip
    if rng.random() < 0.15:
        return ["plot", out], files
    return [*argv, "--out", out], files


GENERATORS: dict[str, Generator] = {
    "scenario": scenario, "workload": workload, "sweep": sweep, "trace": trace,
    "tensor": tensor, "dataset": dataset, "options": options, "outdir": outdir,
}  # fmt: skip
