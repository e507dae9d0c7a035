#!/usr/bin/env python3
"""Figures of issue 13's parts, as JSON: what the lazy loading saves and what each part costs.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/a11y.py [--runs 5]

* ``import_*_ms``: importing QtMultimedia (voice), QtPrintSupport + python-escpos (printing) and
  QtSvg (pictures), each in a fresh process (min / median / max) — what the kiosk does *not* pay at
  start-up because these are imported when first used;
* ``first_prompt_ms``: ``VoiceGuide.say`` of the first prompt (QtMultimedia load + WAV load);
* ``slip_*_ms``: building the slip, drawing the ESC/POS raster, writing the A4 PDF;
* ``prompt_cache_noop_ms``: ``ui.voice_prompts.build`` when every prompt is already rendered;
* ``rss_*_mb``: resident memory after loading voice, printing and pictures in one process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

IMPORTS = {
    "import_voice_ms": "from PySide6.QtMultimedia import QSoundEffect",
    "import_printing_ms": "from PySide6.QtPrintSupport import QPrinter; import escpos.printer",
    "import_pictures_ms": "from PySide6.QtSvg import QSvgRenderer",
}


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 1),
        "median": round(statistics.median(values), 1),
        "max": round(max(values), 1),
    }


def _import_ms(statement: str) -> float:
    code = (
        "import time\nfrom PySide6.QtWidgets import QApplication\napp = QApplication([])\n"
        f"t = time.perf_counter()\n{statement}\nprint((time.perf_counter() - t) * 1000)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return float(out.stdout.strip().splitlines()[-1])


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    report: dict[str, object] = {"benchmark": "a11y", "runs": args.runs}
    for key, statement in IMPORTS.items():
        report[key] = _stats([_import_ms(statement) for _ in range(args.runs)])

    from datetime import datetime

    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    report["rss_qt_app_mb"] = round(_rss_mb(), 1)
    from kiosk.rules.programs import load_programs
    from kiosk.slip import build_slip
    from ui.printing import Paper, print_pdf, slip_image
    from ui.voice import VoiceGuide
    from ui.voice_prompts import build, default_dir

    program = load_programs(ROOT / "config" / "programs")["miyagi-point-2024-lottery"]
    services = [s.service for s in program.services]
    t = time.perf_counter()
    now = datetime.now().astimezone()
    slip = build_slip(code="K7QM-4RZX", program=program, services=services, issued_at=now, language="ja")
    report["slip_build_ms"] = round((time.perf_counter() - t) * 1000, 2)
    rasters, pdfs = [], []
    for _ in range(args.runs):
        t = time.perf_counter()
        slip_image(slip)
        rasters.append((time.perf_counter() - t) * 1000)
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            print_pdf(slip, str(Path(tmp) / "slip.pdf"), Paper.A4)
            pdfs.append((time.perf_counter() - t) * 1000)
    report["slip_escpos_raster_ms"] = _stats(rasters)
    report["slip_pdf_a4_ms"] = _stats(pdfs)
    t = time.perf_counter()
    build(default_dir())
    report["prompt_cache_noop_ms"] = round((time.perf_counter() - t) * 1000, 1)
    guide = VoiceGuide()
    t = time.perf_counter()
    try:
        guide.say("ja", "wait_card")
    except Exception as exc:  # no prompt cache: reported, not fatal
        report["first_prompt_error"] = type(exc).__name__
    report["first_prompt_ms"] = round((time.perf_counter() - t) * 1000, 1)
    from ui.illustration import CardPicture

    picture = CardPicture()
    app.processEvents()
    report["rss_with_voice_printing_pictures_mb"] = round(_rss_mb(), 1)
    del picture
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
