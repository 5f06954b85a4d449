"""Binary (.npy) traces: round trips, accepted dtypes, and hostile files as named errors.

Every bad file must raise ``TraceError`` naming the file (and the request, for a bad value)
before any large allocation or pickle load; ``npusim dram`` turns it into one line, exit 2.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from npusim.cli import main
from npusim.errors import TraceError
from npusim.trace import MAX_REQUEST_BYTES, MAX_VALUE, Trace, read_trace
from npusim.trace_binary import read_binary_trace, write_trace

UNTIMED = [("addr", "<u8"), ("is_write", "?"), ("size_bytes", "<i8")]
TIMED = [*UNTIMED, ("arrival_cycle", "<i8")]


def _table(rows: list[tuple], fields: list[tuple[str, str]] = UNTIMED) -> np.ndarray:
    return np.array(rows, dtype=fields)


@pytest.mark.parametrize("timed", [False, True])
def test_binary_trace_round_trips(timed: bool, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 100
    trace = Trace(
        addr=rng.integers(0, 1 << 30, n).astype(np.uint64),
        is_write=rng.random(n) < 0.3,
        size_bytes=rng.choice([0, 32, 64], n).astype(np.int64),
        arrival_cycle=np.cumsum(rng.integers(0, 5, n)) if timed else None,
    )
    path = tmp_path / "t.npy"
    write_trace(path, trace)
    read = read_trace(path)
    assert np.array_equal(read.addr, trace.addr) and read.addr.dtype == np.uint64
    assert np.array_equal(read.is_write, trace.is_write) and read.is_write.dtype == np.bool_
    assert np.array_equal(read.size_bytes, trace.size_bytes)
    if timed:
        assert read.arrival_cycle is not None and read.arrival_cycle.dtype == np.int64
        assert np.array_equal(read.arrival_cycle, trace.arrival_cycle)
    else:
        assert read.arrival_cycle is None


def test_a_trace_carrying_data_round_trips_with_it(tmp_path: Path) -> None:
    """write_trace keeps a trace's data (a .npy cannot hold it, so it writes a .npz): two
    requests of 40 B and 0 B at 32 B bursts carry 64 + 32 bytes."""
    data = np.arange(96, dtype=np.uint8)
    trace = Trace(
        addr=np.array([0, 4096], dtype=np.uint64),
        is_write=np.array([True, False]),
        size_bytes=np.array([40, 0], dtype=np.int64),
        arrival_cycle=None,
        data=data,
    )
    path = tmp_path / "t.npz"
    write_trace(path, trace)
    read = read_trace(path)
    assert read.data is not None and read.data.dtype == np.uint8
    assert np.array_equal(read.data, data)
    assert read.addr.tolist() == [0, 4096] and read.size_bytes.tolist() == [40, 0]


def test_other_dtypes_and_orders_that_hold_the_same_values(tmp_path: Path) -> None:
    """Big-endian, signed, float whole numbers, integer flags and any field order."""
    fields = [("size_bytes", ">f8"), ("arrival_cycle", "<u4"), ("is_write", "<i1"),
              ("addr", ">i8")]  # fmt: skip
    path = tmp_path / "t.npy"
    np.save(path, np.array([(64.0, 3, 1, 4096), (0.0, 3, 0, MAX_VALUE)], dtype=fields))
    trace = read_trace(path)
    assert trace.addr.tolist() == [4096, MAX_VALUE] and trace.addr.dtype == np.uint64
    assert trace.is_write.tolist() == [True, False]
    assert trace.size_bytes.tolist() == [64, 0] and trace.size_bytes.dtype == np.int64
    assert trace.arrival_cycle is not None and trace.arrival_cycle.tolist() == [3, 3]


def test_a_npy_file_under_another_name_is_read_by_its_magic(tmp_path: Path) -> None:
    path = tmp_path / "t.trace"
    with path.open("wb") as file:
        np.save(file, _table([(0x40, True, 0)]))
    assert read_trace(path).addr.tolist() == [0x40]


BAD_VALUES = [
    (_table([(0, False, 0), (0, False, -1)]), "request 1: size_bytes -1 is below 0"),
    (_table([(MAX_VALUE + 1, False, 0)]), f"request 0: addr {MAX_VALUE + 1} is larger than"),
    (_table([(2**64 - 1, False, 0)]), "request 0: addr 18446744073709551615 is larger than"),
    (_table([(0, False, MAX_REQUEST_BYTES + 1)]), "size_bytes 1073741825 is larger than"),
    (_table([(0, False, 0), (-64, False, 0)], [("addr", "<i8"), *UNTIMED[1:]]),
     "request 1: addr -64 is below 0"),
    (_table([(1.0, False, 0), (np.nan, False, 0)], [("addr", "<f8"), *UNTIMED[1:]]),
     "request 1: addr nan is not a whole number"),
    (_table([(np.inf, False, 0)], [("addr", "<f8"), *UNTIMED[1:]]), "addr inf is not a whole"),
    (_table([(64.5, False, 0)], [("addr", "<f8"), *UNTIMED[1:]]), "addr 64.5 is not a whole"),
    (_table([(0, 2, 0)], [UNTIMED[0], ("is_write", "<i4"), UNTIMED[2]]),
     "request 0: is_write 2 is not 0 or 1"),
    (_table([(0, False, 0, 5), (0, False, 0, 4)], TIMED),
     "request 1: arrival_cycle 4 is earlier than the previous request's 5"),
    (_table([(0, False, 0, -1)], [*UNTIMED, ("arrival_cycle", "<i8")]),
     "arrival_cycle -1 is below 0"),
    (_table([(0, False, 0, np.nan)], [*UNTIMED, ("arrival_cycle", "<f4")]),
     "arrival_cycle nan is not a whole number"),
    (_table([], UNTIMED), "trace has no requests"),
]  # fmt: skip


BAD_FORMS = [
    (np.zeros(3, dtype=np.uint64), "expected a 1-D structured array with fields addr"),
    (np.zeros((2, 2), dtype=UNTIMED), "found shape (2, 2)"),
    (np.zeros(2, dtype=UNTIMED[:2]), "expected a 1-D structured array"),
    (np.zeros(2, dtype=[*UNTIMED, ("extra", "<i8")]), "expected a 1-D structured array"),
    (np.zeros(2, dtype=[("addr", "S8"), *UNTIMED[1:]]), "field addr has dtype |S8"),
    (np.zeros(2, dtype=[("addr", "<c16"), *UNTIMED[1:]]), "field addr has dtype complex128"),
    (np.zeros(2, dtype=[("addr", "<u8", (2,)), *UNTIMED[1:]]), "field addr has dtype"),
    (np.zeros(2, dtype=[UNTIMED[0], ("is_write", "<f8"), UNTIMED[2]]), "field is_write"),
    (np.array([{"addr": 1}], dtype=object), "holds Python objects"),
    (np.zeros(2, dtype=[("addr", "O"), *UNTIMED[1:]]), "holds Python objects"),
]  # fmt: skip


@pytest.mark.parametrize(("table", "message"), BAD_VALUES + BAD_FORMS)
def test_bad_values_shapes_and_dtypes_are_named_errors(
    table: np.ndarray, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.npy"
    np.save(path, table, allow_pickle=True)  # the pickle cases are written, never read
    with pytest.raises(TraceError, match=f"^{re.escape(str(path))}: .*{re.escape(message)}"):
        read_binary_trace(path)


def _truncated(path: Path) -> None:
    np.save(path, np.zeros(1000, dtype=UNTIMED))
    path.write_bytes(path.read_bytes()[:-100])


def _promises_petabytes(path: Path) -> None:
    with path.open("wb") as file:
        header = {"descr": np.dtype(UNTIMED).descr, "fortran_order": False, "shape": (2**50,)}
        np.lib.format.write_array_header_1_0(file, header)
        file.write(bytes(100))


def _code_in_header(path: Path) -> None:
    path.write_bytes(b"\x93NUMPY\x01\x00\x20\x00{'descr': __import__('os').getcwd()}\n")


HOSTILE_FILES = [
    (_truncated, "truncated: the header promises 1000 requests (17000 bytes), the file holds "
     "16900 bytes"),
    (_promises_petabytes, "truncated: the header promises 1125899906842624 requests"),
    (_code_in_header, "not a .npy trace: bad header"),
    (lambda path: path.write_text("LD 0x0\n"), "not a .npy trace (no numpy magic string"),
    (lambda path: path.write_bytes(b""), "not a .npy trace (no numpy magic string"),
    (lambda path: path.write_bytes(b"\x93NUMPY\x01"), "not a .npy trace: bad header"),
]  # fmt: skip


def test_a_missing_file_is_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot read trace"):
        read_trace(tmp_path / "absent.npy")


def test_the_cli_runs_a_binary_trace_and_reports_a_bad_one_in_a_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    good, bad = tmp_path / "good.npy", tmp_path / "bad.npy"
    np.save(good, _table([(0, False, 0), (32, True, 64)]))
    assert main(["dram", str(good)]) == 0
    out = capsys.readouterr().out
    assert "requests               2" in out and "bytes read / written   32 / 64" in out
    _truncated(bad)
    assert main(["dram", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "truncated" in err and err.count("\n") == 1


def test_npz_traces_of_columns(tmp_path: Path) -> None:
    untimed, timed = tmp_path / "u.npz", tmp_path / "t.npz"
    np.savez(untimed, addr=np.array([64, 4096], dtype=np.uint32), is_write=[False, True])
    trace = read_trace(untimed)
    assert trace.addr.tolist() == [64, 4096] and trace.addr.dtype == np.uint64
    assert trace.is_write.tolist() == [False, True]
    assert trace.size_bytes.tolist() == [0, 0] and trace.arrival_cycle is None
    np.savez_compressed(timed, addr=[0, 32], is_write=[1, 0], size_bytes=[64, 0],
                        arrival_cycle=[7, 9])  # fmt: skip
    trace = read_trace(timed)
    assert trace.is_write.tolist() == [True, False] and trace.size_bytes.tolist() == [64, 0]
    assert trace.arrival_cycle is not None and trace.arrival_cycle.tolist() == [7, 9]
    renamed = tmp_path / "t.trace"  # told apart by its first bytes
    renamed.write_bytes(timed.read_bytes())
    assert read_trace(renamed).arrival_cycle is not None


def _npz(path: Path, **arrays: object) -> None:
    with path.open("wb") as file:
        np.savez(file, **arrays, allow_pickle=True)  # the pickle case is written, never read


def _zip_member(path: Path, name: str, data: bytes) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("is_write.npy", _npy_bytes(np.zeros(2, dtype=bool)))
        archive.writestr(name, data)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


HOSTILE_ARCHIVES = [
    (lambda p: _npz(p, addr=[0, 1]), "no is_write array"),
    (lambda p: _npz(p, addr=[0, 1], is_write=[0, 1], sizes=[1, 2]),
     "array 'sizes.npy' is not a trace field"),
    (lambda p: _npz(p, addr=[0, 1, 2], is_write=[0, 1]), "arrays of different lengths"),
    (lambda p: _npz(p, addr=np.zeros((2, 1)), is_write=[0, 1]),
     "addr.npy: expected a 1-D array, found shape (2, 1)"),
    (lambda p: _npz(p, addr=np.array([{}, {}], dtype=object), is_write=[0, 1]),
     "addr.npy: holds Python objects"),
    (lambda p: _npz(p, addr=["a", "b"], is_write=[0, 1]), "addr.npy has dtype <U1"),
    (lambda p: _npz(p, addr=[0, np.nan], is_write=[0, 1]), "request 1: addr nan is not a whole"),
    (lambda p: _zip_member(p, "addr.npy", _npy_bytes(np.zeros(1000, dtype=np.uint64))[:-80]),
     "addr.npy: truncated: the header promises 1000 requests (8000 bytes), the file holds "
     "7920 bytes"),
    (lambda p: _zip_member(p, "addr.npy", b"LD 0x0\n"),
     "addr.npy: not an array (no numpy magic string"),
    (lambda p: _npz(p, addr=[0, 1], is_write=[0, 1]) or p.write_bytes(p.read_bytes()[:-30]),
     "not a readable .npz archive"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("suffix", "make", "message"),
    [(".npy", *case) for case in HOSTILE_FILES] + [(".npz", *case) for case in HOSTILE_ARCHIVES],
)
def test_hostile_files_are_named_errors(suffix: str, make, message: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"bad{suffix}"
    make(path)
    with pytest.raises(TraceError, match=f"^{re.escape(str(path))}: .*{re.escape(message)}"):
        read_trace(path)


def test_a_compressed_archive_cannot_promise_more_requests_than_the_bound(tmp_path: Path) -> None:
    """savez_compressed of 2^28 zero bytes is about 256 KiB on disk but would need gigabytes
    once read: refused from its header, before anything is decompressed."""
    from npusim.trace_binary import MAX_BINARY_REQUESTS

    path = tmp_path / "bomb.npz"
    rows = 2 * MAX_BINARY_REQUESTS
    np.savez_compressed(path, addr=np.zeros(rows, np.uint8), is_write=np.zeros(rows, bool))
    assert path.stat().st_size < 4 << 20
    with pytest.raises(TraceError, match=r"268,435,456 requests, over the 134,217,728"):
        read_binary_trace(path)
