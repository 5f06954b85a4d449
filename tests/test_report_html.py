"""The static HTML report: relative images, results table, resolved scenario, no network."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from npusim.cli import main
from npusim.sweep import run_sweep
from npusim.sweep.views import load_views, sqnr_db

SWEEP = """
name: html
description: a <b>test</b> & its escaping
scenario: lpddr5_51gbps_4mib
workloads: [gemv_4096]
axes:
  precision: [int8, int4]
"""
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    (folder / "s.yaml").write_text(SWEEP)
    run_sweep(folder / "s.yaml", folder / "out", jobs=1, report=False)
    assert main(["plot", str(folder / "out")]) == 0  # the plot command writes the report
    return folder / "out"


def test_page_has_plots_table_and_resolved_scenario(report: Path) -> None:
    page = (report / "index.html").read_text()
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == 6  # no hit-rate plot: this sweep has no sram.capacity axis
    assert all(s.startswith("plots/") and (report / s).exists() for s in sources)
    assert all((report / s.replace(".png", ".svg")).exists() for s in sources)
    assert page.count("<tr>") == 1 + 2  # header + one row per point
    assert '<td class="t">int4</td>' in page
    assert "name: lpddr5_51gbps_4mib" in page and "sram:" in page  # the resolved scenario
    # ... in human units, without the scenario's own default workload (the sweep ran gemv_4096)
    assert "capacity: 4 MiB" in page and "clock: 1 GHz" in page and " Hz\n" not in page
    assert "resnet50_layers" not in page
    assert '<div class="scroll"><table>' in page  # the table scrolls in its own box
    assert "a &lt;b&gt;test&lt;/b&gt; &amp; its escaping" in page
    # INT8 and INT4 points report SQNR in every fidelity: the page must not say otherwise
    _, [view] = load_views(report)
    assert all(math.isfinite(sqnr_db(p)["weights"]) for p in view.points)
    assert "SQNR is not available" not in page
    # Static: no scripts, no remote resources.
    assert "<script" not in page and "http://" not in page and "https://" not in page


@pytest.mark.skipif(not Path(CHROMIUM).exists(),
                    reason=f"{CHROMIUM} is absent (Debian package 'chromium')")  # fmt: skip
def test_every_image_loads_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    # A copy of the page next to it (same relative paths) that records each image's state.
    probe = (
        "<script>window.addEventListener('load', function () {"
        "var r = []; for (var i of document.images) r.push([i.getAttribute('src'), i.complete,"
        " i.naturalWidth]); var p = document.createElement('pre'); p.id = 'probe';"
        " p.textContent = JSON.stringify(r); document.body.appendChild(p); });</script>"
    )
    page = (report / "index.html").read_text().replace("</body>", probe + "</body>")
    check = report / "_probe.html"
    check.write_text(page)
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
               "--virtual-time-budget=5000", "--dump-dom", check.as_uri()]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=90)
    finally:
        check.unlink()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stderr[-2000:]
    images = json.loads(found.group(1).replace("&quot;", '"'))
    assert len(images) == 6
    for src, complete, width_px in images:
        assert complete and width_px > 0, f"{src} did not load"
