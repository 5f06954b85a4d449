"""Files shipped with npusim (``hw_configs/``, ``workloads/``, ``sweeps/``), found by name or
by path.

In a source checkout (or an editable install) they are the checkout's top-level folders; a
wheel carries copies in ``npusim/_bundled/`` (``setup.py`` puts them there).
"""

from __future__ import annotations

from pathlib import Path

from npusim.config.fields import suggest
from npusim.errors import ConfigError, Problem

REPO_ROOT = Path(__file__).resolve().parents[2]
_WHEEL_COPIES = Path(__file__).resolve().parents[1] / "_bundled"


def bundled_folder(name: str) -> Path:
    """The folder of bundled files ``name`` (``"hw_configs"``, ``"workloads"``, ``"sweeps"``)."""
    in_checkout = REPO_ROOT / name
    return in_checkout if in_checkout.is_dir() else _WHEEL_COPIES / name


def bundled_names(folder: Path) -> list[str]:
    """Names (file stems) of the YAML files in a bundled folder."""
    return sorted(p.stem for p in folder.glob("*.yaml"))


def resolve_bundled(name_or_path: str | Path, folder: Path, kind: str, key: str = "") -> Path:
    """An existing file as given; else a bundled file by name (with or without ``.yaml``);
    else a ``*.yaml`` path as given (reading it reports "file not found"); else a
    :class:`ConfigError` naming ``kind`` with the closest bundled name as a suggestion."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    bundled = folder / f"{path.stem}.yaml"
    if path.parent == Path(".") and bundled.exists():
        return bundled
    if path.suffix in (".yaml", ".yml"):
        return path
    hint = suggest(str(name_or_path), bundled_names(folder))
    raise ConfigError(
        Problem(key, f"no {kind} file or bundled {kind} named {str(name_or_path)!r}{hint}")
    )
