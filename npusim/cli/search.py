"""``npusim search``: a per-layer mixed precision within an accuracy budget (greedy lowering)."""

from __future__ import annotations

import argparse
from pathlib import Path

from npusim.functional.accuracy import BUDGET_POINTS_DEFAULT
from npusim.functional.search import MIN_SAVING_FRACTION, OBJECTIVES
from npusim.simulate import FIDELITIES


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "search",
        description="Find per-layer weight/activation bit-widths (INT8, INT4, INT2) that "
        "minimize energy, DRAM traffic or time while top-1 stays within a budget of the FP32 "
        "network's (greedy lowering, decided on the calibration split, reported on the test "
        "split). Writes the assignment as a scenario overlay that npusim run accepts.",
    )
    p.add_argument("scenario", nargs="?", help="base scenario YAML file or bundled name")
    p.add_argument("--workload", "-w", required=True, help="workload with trained weights")
    p.add_argument(
        "--accuracy",
        metavar="DATASET",
        required=True,
        help="labelled dataset (.npz with inputs, labels; or bundled: digits)",
    )
    p.add_argument(
        "--objective",
        choices=OBJECTIVES,
        default=OBJECTIVES[0],
        help="what to minimize (default: energy per inference)",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=BUDGET_POINTS_DEFAULT,
        metavar="POINTS",
        help=f"top-1 points allowed below FP32 (default: {BUDGET_POINTS_DEFAULT:g}, the "
        "primer's figure)",
    )
    p.add_argument(
        "--min-saving",
        type=float,
        default=MIN_SAVING_FRACTION,
        metavar="FRACTION",
        help="smallest cost saving a lowering step may take, as a fraction of uniform INT8's "
        f"cost (default: {MIN_SAVING_FRACTION:g})",
    )
    p.add_argument(
        "--fidelity",
        choices=FIDELITIES,
        default=FIDELITIES[0],
        help="timing model for the cost (default: cycle)",
    )
    p.add_argument(
        "--out",
        "-o",
        type=Path,
        help="overlay file (default: reports/<workload>-mixed-<objective>.yaml)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Search, print the sensitivity, steps and test-split table, and write the overlay."""
    import yaml

    from npusim.config.loader import resolve_scenario_path
    from npusim.config.resolved import workload_reference
    from npusim.functional.search import search
    from npusim.report.table import format_table
    from npusim.results import write_file_atomically
    from npusim.workload import load_workload

    workload = load_workload(args.workload)
    result = search(args.scenario, workload, args.accuracy, args.objective, args.budget,
                    args.fidelity, args.min_saving)  # fmt: skip
    sensitivity = [
        [s.layer, s.operand, s.precision, f"{100 * s.top1:.1f}", f"{s.cost:.4g}"]
        for s in result.sensitivity
    ]
    print("sensitivity: each operand lowered alone from uniform INT8 (calibration split)")
    print(format_table(["layer", "operand", "to", "top-1 %", args.objective], sensitivity))
    print("\nsteps taken:")
    steps = [
        [s.layer, s.operand, s.precision, f"{100 * s.top1:.1f}", f"{s.cost:.4g}"]
        for s in result.steps
    ]
    print(
        format_table(
            ["layer", "operand", "lowered to", "top-1 % (calib.)", args.objective],
            steps or [["(none)", "", "", "", ""]],
        )
    )
    rows = [
        [
            label,
            f"{100 * e.top1:.1f}",
            f"{e.totals['time_s'] * 1e6:.3f}",
            f"{(e.totals['dram_read_bytes'] + e.totals['dram_write_bytes']) / 1024:.2f}",
            f"{e.totals['energy_pj']['total'] / 1e3:.1f}",
        ]
        for label, e in result.rows.items()
    ]
    print()
    print(
        f"test split, FP32 top-1 {100 * result.top1_fp32:.1f} %, budget {args.budget:g} point(s), "
        f"{result.evaluations} evaluations:"
    )
    print(format_table(["", "top-1 %", "time (µs)", "DRAM (KiB)", "energy (nJ)"], rows))
    if not result.within_budget_on_test:
        print(
            f"note: on the test split the assignment is {result.points_below_fp32:.1f} points "
            f"below FP32, outside the {args.budget:g}-point budget. It was decided on "
            f"{result.calibration_samples} calibration images, where top-1's binomial standard "
            f"error at {100 * result.top1_fp32_calibration:.1f} % is "
            f"{result.calibration_standard_error_points:.1f} points, about the budget itself, "
            f"and the search kept the candidates that scored best there, which flatters them "
            f"(winner's curse): a larger calibration split narrows both"
        )
    base = args.scenario or resolve_scenario_path(None).stem
    extends = str(Path(base).resolve()) if Path(base).is_file() else base
    overlay = result.overlay(extends, workload_reference(args.workload))
    out = args.out or Path("reports") / f"{workload.name}-mixed-{args.objective}.yaml"
    header = (
        f"# npusim search: {workload.name}, minimize {args.objective}, top-1 within "
        f"{args.budget:g} point(s) of FP32 ({args.fidelity} fidelity)\n"
    )
    write_file_atomically(out, header + yaml.safe_dump(overlay, sort_keys=False))
    print(f"\nwrote {out} (npusim run {out} --accuracy {args.accuracy})")
    return 0
