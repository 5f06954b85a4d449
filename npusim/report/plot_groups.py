"""A sweep's points grouped for plots: one line or panel per combination of the other axes.

Plots against bit-width draw one value per precision. The sweep's other axes (SRAM capacity,
frame rate, DRAM idle policy) either split the points into groups, one line or panel each, or,
when that would make too many, stay at the reference slice
(:meth:`npusim.sweep.views.WorkloadView.slice`: each at its first listed value), and the
label says which values it shows.
"""

from __future__ import annotations

from collections.abc import Callable

from npusim.sweep.store import StoredPoint
from npusim.sweep.views import WorkloadView

MAX_FACETS = 4

Group = tuple[str, list[StoredPoint]]
"""A label (legend entry or panel title) and its points."""


def _every_point(point: StoredPoint) -> bool:
    return True


def reference_slice(view: WorkloadView, label_format: str, unnamed: str = "") -> Group:
    """The reference slice, labelled ``label_format`` formatted with the values it fixes
    (``sram.capacity = 1 MiB``), or ``unnamed`` when it fixes none."""
    label = view.slice_label()
    return (label_format.format(label) if label else unnamed, view.slice())


def group_by_other_axes(
    view: WorkloadView,
    max_groups: int,
    *,
    include: Callable[[StoredPoint], bool] = _every_point,
    separator: str = ", ",
    equals: str = "=",
    varied_only: bool = False,
    unnamed: str = "",
    fallback_format: str = "{}",
) -> list[Group]:
    """The points ``include`` accepts, grouped in sweep order by their values of the
    non-precision axes; a group's label is ``axis{equals}value`` per axis, joined by
    ``separator``, or ``unnamed`` when it names no axis.

    ``varied_only`` names only the axes that take two values or more: a zip sweep repeats
    values, so an axis listed four times may still hold one. More than ``max_groups`` groups
    would crowd the plot: then the one group is the reference slice, labelled as
    :func:`reference_slice` with ``fallback_format``.
    """
    axes = view.other_axes
    if varied_only:
        axes = [k for k in axes if len({str(v) for v in view.axes[k]}) > 1]
    groups: dict[str, list[StoredPoint]] = {}
    for point in view.points:
        if include(point):
            label = separator.join(f"{k}{equals}{point.axes.get(k)}" for k in axes)
            groups.setdefault(label or unnamed, []).append(point)
    if len(groups) > max_groups:
        return [reference_slice(view, fallback_format, unnamed)]
    return list(groups.items())


def facets(view: WorkloadView) -> list[Group]:
    """One panel per value of the sweep's single other axis (up to :data:`MAX_FACETS`), else
    the reference slice alone, its title saying which values it fixes."""
    others = view.other_axes
    if len(others) == 1 and len(view.axes[others[0]]) <= MAX_FACETS:
        axis = others[0]
        return [(f"{axis} = {value}", view.slice(free=(axis,), only={axis: value}))
                for value in view.axes[axis]]  # fmt: skip
    return [reference_slice(view, "only {} shown")]
