"""Output folders npusim owns: a marker file decides ownership, writes are atomic, sweeps lock.

A folder npusim writes holds :data:`MARKER_NAME`, whose first line is ``npusim-output 1 run``
or ``npusim-output 1 sweep`` (the format line) and, for a run folder, one line per file npusim
wrote there. npusim writes only into a folder that is new, empty, or holds its marker of the
same kind; any other existing path is refused with :class:`ResultsError` and left untouched.
File names never decide ownership.

A run folder is replaced as a whole: the new files are written into a hidden sibling
``.<name>.npusim-new-<pid>-*`` which is then exchanged with the folder in one atomic
``renameat2(RENAME_EXCHANGE)`` (Linux), or else by two renames that a later run completes if a
kill falls between them. Hidden siblings left by a killed run are cleaned by the next run on
the same folder. The current directory is never replaced (``--out .``): its files are
replaced one by one.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from enum import Enum
from pathlib import Path

from npusim.errors import ResultsError

MARKER_NAME = ".npusim-output"
MARKER_FORMAT = "npusim-output 1"
LOCK_NAME = ".npusim-lock"
_STAGING_NAME = ".npusim-staging"  # inside a run folder written in place (the current one)
_TMP_INFIX = ".npusim-tmp-"


class FolderKind(Enum):
    """What an output folder holds: one run's files or a sweep's store and report."""

    RUN = "run"
    SWEEP = "sweep"


def out_folder(path: str | Path, kind: FolderKind) -> Path:
    """The absolute, symlink-resolved ``path`` if npusim may write its ``kind`` of output
    there; raises :class:`ResultsError` (and touches nothing) otherwise.

    Refused: a file; a dangling symbolic link (its target is never created); an existing
    non-empty folder without npusim's marker of the same kind; for a run folder, a marked
    folder that also holds files the marker does not list.
    """
    try:
        return _out_folder(path, kind)
    except OSError as err:  # e.g. a name too long for the file system
        raise ResultsError(f"cannot use {path} as an output folder: {err.strerror}") from None


def _out_folder(path: str | Path, kind: FolderKind) -> Path:
    absolute = Path(os.path.abspath(path))
    for ancestor in (absolute, *absolute.parents):
        if os.path.lexists(ancestor):
            if os.path.islink(ancestor) and not ancestor.exists():
                raise ResultsError(f"{ancestor} is a symbolic link to a missing target; "
                                   "give an existing folder or a new path")  # fmt: skip
            break
    target = Path(os.path.realpath(absolute))
    if not target.exists():
        return target
    if not target.is_dir():
        raise ResultsError(f"{path} is a file; --out needs a folder")
    entries = sorted(os.listdir(target))
    if not entries:
        return target
    listed = _marker_files(target, kind, path)
    if listed is None:
        raise ResultsError(f"{path} holds files npusim did not write ({_some(entries)}) and no "
                           f"{MARKER_NAME} marker; choose a new or empty folder")  # fmt: skip
    if kind is FolderKind.RUN:
        foreign = [e for e in entries if e not in listed and e not in (MARKER_NAME, _STAGING_NAME)]
        if foreign:
            raise ResultsError(f"{path} holds files npusim did not write ({_some(foreign)}); "
                               "choose a new or empty folder")  # fmt: skip
    return target


def _some(names: list[str]) -> str:
    shown = ", ".join(repr(n)[1:-1] for n in names[:3])  # escaped: one line whatever the name
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _marker_files(folder: Path, kind: FolderKind, shown: str | Path) -> list[str] | None:
    """The file names the marker of ``folder`` lists (None without a marker); raises if it is
    npusim's marker of another kind."""
    marker = folder / MARKER_NAME
    lines: list[str] = []
    if marker.is_file() and not marker.is_symlink():
        with contextlib.suppress(OSError, UnicodeDecodeError):
            lines = marker.read_text(encoding="utf-8")[:1_000_000].splitlines()
    if not lines or not lines[0].startswith(MARKER_FORMAT + " "):
        return None
    found = lines[0].removeprefix(MARKER_FORMAT + " ")
    if found != kind.value:
        raise ResultsError(f"{shown} is an npusim {found} folder, not a {kind.value} folder; "
                           "choose another folder")  # fmt: skip
    # plain names only: a crafted line such as ../x must never make npusim touch ../x
    reserved = (".", "..", MARKER_NAME, _STAGING_NAME)
    return [n for n in lines[1:] if n and "/" not in n and "\0" not in n and n not in reserved]


def _marker_text(kind: FolderKind, names: list[str]) -> str:
    return "".join(f"{line}\n" for line in [f"{MARKER_FORMAT} {kind.value}", *names])


def claim_folder(path: str | Path, kind: FolderKind) -> Path:
    """Check ``path`` as :func:`out_folder` does, create it and write the marker if missing;
    returns the folder's absolute path."""
    folder = out_folder(path, kind)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / MARKER_NAME).exists():
            write_file(folder / MARKER_NAME, _marker_text(kind, []))
    except OSError as err:
        raise ResultsError(f"cannot write to {path}: {err.strerror or err}") from None
    return folder


def write_file(path: Path, content: str | bytes) -> Path:
    """Write one file through a synced temporary sibling and a rename: a reader, or a kill at
    any moment, sees the old file or the whole new one, never a truncated one. Temporary
    files a kill leaves are removed by :func:`remove_stale_temporaries`."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    tmp = path.with_name(f".{path.name}{_TMP_INFIX}{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def remove_stale_temporaries(folder: Path) -> None:
    """Remove the temporary files of :func:`write_file` that a killed npusim left in
    ``folder`` (call it holding the folder's lock, or knowing no npusim writes there)."""
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            if entry.name.startswith(".") and _TMP_INFIX in entry.name and entry.is_file():
                entry.unlink()


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s exclusive lock (released by the kernel even on SIGKILL); raises
    :class:`ResultsError` at once if another npusim process holds it."""
    try:
        handle = open(folder / LOCK_NAME, "a+")  # noqa: SIM115 - held for the whole block
    except OSError as err:
        raise ResultsError(f"cannot lock {folder}: {err.strerror or err}") from None
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ResultsError(f"{folder} is in use by another npusim sweep; wait for it to "
                               "finish or choose another --out") from None  # fmt: skip
        yield


def write_run_folder(path: str | Path, files: Mapping[str, str | bytes]) -> Path:
    """Make the run folder ``path`` hold exactly ``files`` (name -> content) and the marker,
    atomically (see the module docstring); returns its absolute path.

    Raises :class:`ResultsError` if ``path`` is not npusim's to write (:func:`out_folder`) or
    cannot be written; an existing folder is then left as it was.
    """
    folder = out_folder(path, FolderKind.RUN)
    names = sorted(files)
    try:
        _finish_interrupted(folder)
        if folder.exists() and _is_cwd(folder):
            _write_in_place(folder, files)
            return folder
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=_sibling(folder, "new"), dir=folder.parent))
        try:
            os.chmod(staging, 0o755)  # mkdtemp makes it private; results are for everyone
            write_file(staging / MARKER_NAME, _marker_text(FolderKind.RUN, names))
            for name in names:
                write_file(staging / name, files[name])
            _swap_in(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as err:
        raise ResultsError(f"cannot write results to {path}: {err.strerror or err}") from None
    return folder


def _sibling(folder: Path, role: str) -> str:
    return f".{folder.name}.npusim-{role}-{os.getpid()}-"


def _is_cwd(folder: Path) -> bool:
    try:
        return os.path.samefile(folder, os.getcwd())
    except OSError:
        return False


def _swap_in(staging: Path, folder: Path) -> None:
    """Put ``staging`` at ``folder``; the previous ``folder`` is removed (after an exchange it
    is at ``staging``, which the caller removes)."""
    if not folder.exists():
        os.replace(staging, folder)
        return
    if _exchange(staging, folder):
        return
    retired = Path(tempfile.mkdtemp(prefix=_sibling(folder, "old"), dir=folder.parent))
    os.replace(folder, retired / "r")
    try:
        os.replace(staging, folder)
    except BaseException:  # an interrupt between the renames: put the old result back
        os.replace(retired / "r", folder)
        raise
    finally:
        shutil.rmtree(retired, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic ``renameat2(RENAME_EXCHANGE)``; False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


_LEFTOVER = re.compile(r"\.(?P<name>.+)\.npusim-(?P<role>new|old)-(?P<pid>\d+)-[^/]*")


def _finish_interrupted(folder: Path) -> None:
    """Complete or clean what a killed run left beside ``folder``: a retired previous result
    whose replacement never arrived is put back; staging folders are removed."""
    if not folder.parent.is_dir():
        return
    for entry in sorted(folder.parent.iterdir()):
        match = _LEFTOVER.fullmatch(entry.name)
        if not match or match["name"] != folder.name or not entry.is_dir():
            continue
        if _alive(int(match["pid"])):
            continue
        retired = entry / "r"
        if match["role"] == "old" and retired.is_dir() and not folder.exists():
            os.replace(retired, folder)
        if _is_npusim_staging(entry):
            shutil.rmtree(entry, ignore_errors=True)


def _is_npusim_staging(entry: Path) -> bool:
    """A leftover is removed only if it is empty or holds npusim's marker (or a retired
    run folder that does)."""
    inside = os.listdir(entry)
    return not inside or MARKER_NAME in inside or inside == ["r"]


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _write_in_place(folder: Path, files: Mapping[str, str | bytes]) -> None:
    """Replace a marked (or empty) folder's files one by one: for the current directory,
    which must not be replaced under the shell standing in it."""
    old = _marker_files(folder, FolderKind.RUN, folder) or []
    names = sorted(files)
    write_file(folder / MARKER_NAME, _marker_text(FolderKind.RUN, sorted({*old, *names})))
    staging = folder / _STAGING_NAME
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        for name in names:
            write_file(staging / name, files[name])
        for name in names:
            os.replace(staging / name, folder / name)
        for name in set(old) - set(names):
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()
        write_file(folder / MARKER_NAME, _marker_text(FolderKind.RUN, names))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
