"""The registration slip printed for real: through Qt's print support to a CUPS queue backed by
cups-pdf (A4 and the 80 mm roll), the PDF read back with pdftotext and rendered with pdftoppm, and
to python-escpos' Dummy printer, whose byte stream is checked command by command.

No mocks of the printing path: cupsd (started here when it is not running), a real queue, real
filters. scripts/setup.sh installs cups, printer-driver-cups-pdf and poppler-utils; a missing
tool fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
import unicodedata
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from escpos.printer import Dummy
from PySide6.QtGui import QImage

from kiosk.rules.programs import Program, load_programs
from kiosk.slip import Slip, build_slip
from ui.printing import Paper, PrinterMissingError, print_cups, print_escpos, print_pdf, slip_image

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "madoguchi-test-pdf"
CODE = "K7QM-4RZX"
JST = timezone(timedelta(hours=9))
WHEN = datetime(2026, 12, 3, 10, 5, tzinfo=JST)
#: What must never be on a slip (a persona's personal data).
RESIDENT = ("黒桐", "幹也", "清瀬市", "1980", "537686677188")


def _run(*args: str, timeout: float = 30) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=timeout).stdout


@pytest.fixture(scope="module")
def cups_queue(qapp: object) -> Path:
    """A cups-pdf queue on the machine's cupsd (started when not running); yields where cups-pdf
    writes this user's PDFs."""
    # This machine's own scheduler, over its socket: without it, lpstat and libcups fall back to
    # localhost:631, which in a chroot sharing the host's network (../shared/tools/fresh-debian) is
    # another machine's cupsd, and the PDF would land in *its* home directory. scripts/test.sh
    # exports it for the whole run (libcups reads it once, at its first use in the process); set
    # here too for lpstat/lpadmin when the file is run on its own.
    os.environ.setdefault("CUPS_SERVER", "/run/cups/cups.sock")
    for tool in ("cupsd", "lpadmin", "lpstat", "pdftotext", "pdftoppm", "pdfinfo"):
        assert shutil.which(tool), f"{tool} missing: run scripts/setup.sh"
    ppd = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd")
    assert ppd.exists(), "printer-driver-cups-pdf missing: run scripts/setup.sh"
    if (
        subprocess.run(["lpstat", "-r"], capture_output=True, text=True).stdout.strip()
        != "scheduler is running"
    ):
        subprocess.run(["cupsd"], check=True, timeout=30)
        for _ in range(100):
            if (
                "scheduler is running"
                in subprocess.run(["lpstat", "-r"], capture_output=True, text=True).stdout
            ):
                break
            time.sleep(0.1)
    if subprocess.run(["lpstat", "-p", QUEUE], capture_output=True).returncode != 0:
        _run("lpadmin", "-p", QUEUE, "-E", "-v", "cups-pdf:/", "-P", str(ppd))
    return Path(pwd.getpwuid(os.getuid()).pw_dir) / "PDF"


@pytest.fixture(scope="module")
def programs() -> dict[str, Program]:
    return load_programs(ROOT / "config" / "programs")


def slip(programs: dict[str, Program], language: str = "en", program: str = "demo") -> Slip:
    chosen = programs[program]
    return build_slip(
        code=CODE,
        program=chosen,
        services=[s.service for s in chosen.services],
        issued_at=WHEN,
        language=language,
    )


def _print_and_wait(s: Slip, out: Path, paper: Paper) -> Path:
    name = f"madoguchi-slip-{uuid.uuid4().hex[:12]}"
    print_cups(s, QUEUE, paper, document_name=name)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = sorted(out.glob(f"{name}*.pdf")) if out.exists() else []
        if found and found[0].stat().st_size > 0:
            time.sleep(0.3)  # cups-pdf writes, then closes
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"cups-pdf wrote no {name}*.pdf into {out}")


def test_slip_content_has_everything_and_no_personal_data(programs: dict[str, Program]) -> None:
    text = slip(programs, "en", "miyagi-point-2024-lottery").text()
    program = programs["miyagi-point-2024-lottery"]
    assert CODE in text
    assert "2026-12-03 10:05" in text
    assert program.name.en in text
    for service in program.services:
        assert service.name.en in text
    assert program.support_phone in text
    assert program.support_hours.en in text
    assert "lottery is drawn on" in text  # what happens next and when
    assert "give the registration code" in text  # how to ask about it
    assert "never ask for your PIN" in text
    for fact in RESIDENT:
        assert fact not in text


def _norm(text: str) -> str:
    """Compare text without spaces, NFKC, and with U+2027 read as the katakana middle dot
    (Qt's ToUnicode gives look-alikes: ⽇ for 日, ‧ for ・)."""
    return unicodedata.normalize("NFKC", "".join(text.split())).replace("\u2027", "・")


def _render(pdf: Path, prefix: Path) -> Path:
    _run("pdftoppm", "-r", "60", "-gray", "-singlefile", "-png", str(pdf), str(prefix))
    return prefix.with_suffix(".png")


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("paper", list(Paper))
def test_pdf_text_of_the_slip(
    qapp: object, programs: dict[str, Program], paper: Paper, language: str, tmp_path: Path
) -> None:
    """The drawing :func:`print_cups` sends, written as a PDF by Qt: pdftotext finds every part."""
    s = slip(programs, language, "miyagi-point-2024-lottery")
    pdf = tmp_path / "slip.pdf"
    print_pdf(s, str(pdf), paper)
    # NFKC: Qt's ToUnicode maps some kanji to their Kangxi radical look-alikes (⽇ for 日)
    flat = _norm(_run("pdftotext", str(pdf), "-"))
    program = programs["miyagi-point-2024-lottery"]
    assert CODE in flat
    assert "".join(program.name.get(language).split()) in flat
    assert program.support_phone in flat
    for fact in RESIDENT:
        assert fact not in flat
    for line in s.lines:
        assert _norm(line) in flat


@pytest.mark.parametrize("paper", list(Paper))
def test_cups_pdf_a4_and_roll(
    cups_queue: Path, programs: dict[str, Program], paper: Paper, tmp_path: Path
) -> None:
    """Through cupsd and the cups-pdf queue: the page has the paper's size and, rendered, is the
    same picture as the PDF Qt writes itself (cups-pdf re-distils the job through PostScript and
    Ghostscript, which turns the fonts into Type 3 without a usable ToUnicode, so its text cannot
    be extracted; the picture is compared instead)."""
    s = slip(programs, "ja")
    pdf = _print_and_wait(s, cups_queue, paper)
    try:
        info = _run("pdfinfo", str(pdf))
        size = next(line for line in info.splitlines() if line.startswith("Page size:"))
        width_pt = float(size.split()[2])
        if paper is Paper.A4:
            assert abs(width_pt - 595) < 2, size
        else:
            assert abs(width_pt - 80 / 25.4 * 72) < 2, size  # 226.8 pt
        printed = _render(pdf, tmp_path / f"slip-{paper.value}")
        direct_pdf = tmp_path / "direct.pdf"
        print_pdf(s, str(direct_pdf), paper)
        direct = _render(direct_pdf, tmp_path / "direct")
        a, b = QImage(str(printed)), QImage(str(direct))
        assert abs(a.width() - b.width()) <= 1
        assert abs(a.height() - b.height()) <= 1
        # 6x6-pixel blocks, mean grey: robust to the one-pixel shifts of two rasterisers
        block, diffs, inked = 6, [], 0
        for by in range(0, min(a.height(), b.height()) - block, block):
            for bx in range(0, min(a.width(), b.width()) - block, block):
                ga = sum(a.pixel(bx + i, by + j) & 0xFF for i in range(block) for j in range(block))
                gb = sum(b.pixel(bx + i, by + j) & 0xFF for i in range(block) for j in range(block))
                diffs.append(abs(ga - gb) / block**2)
                inked += ga < 250 * block**2
        assert inked > 200  # text and the QR were printed
        assert sum(diffs) / len(diffs) < 6, sum(diffs) / len(diffs)
        if os.environ.get("MADOGUCHI_SLIP_PNG_DIR"):  # docs/screenshots, by hand
            shutil.copy(printed, Path(os.environ["MADOGUCHI_SLIP_PNG_DIR"]) / printed.name)
    finally:
        pdf.unlink(missing_ok=True)


def test_missing_queue_is_a_typed_error(cups_queue: Path, programs: dict[str, Program]) -> None:
    with pytest.raises(PrinterMissingError):
        print_cups(slip(programs), "madoguchi-no-such-queue")


def test_escpos_byte_stream(qapp: object, programs: dict[str, Program]) -> None:
    printer = Dummy()
    print_escpos(slip(programs, "ja"), printer)
    data = printer.output
    assert (CODE + "\n").encode() in data  # the code as printer text
    qr_store = b"\x1d(k" + (len(CODE) + 3).to_bytes(2, "little") + b"1P0" + CODE.encode()
    assert qr_store in data  # GS ( k: store the code in the native QR symbol
    assert b"\x1d(k\x03\x001Q0" in data  # ... and print it
    assert data.count(b"\x1dv0") == 2  # two raster images: the heading and the body
    assert data.rstrip().endswith(b"\x1dVB\x00") or b"\x1dV" in data[-8:]  # partial cut last
    for fact in RESIDENT:
        assert fact.encode() not in data  # nothing personal, in any encoding we could have sent
        assert fact.encode("shift_jis", errors="ignore") not in data or not fact.isascii()


def test_slip_image_is_drawn(qapp: object, programs: dict[str, Program]) -> None:
    image = slip_image(slip(programs, "ja-easy"))
    assert image.width() == 576
    assert image.height() > 800
    dark = sum(
        1 for y in range(0, image.height(), 4) for x in range(0, 576, 4) if image.pixel(x, y) & 0xFF < 128
    )
    assert dark > 500  # text and the QR are on it


def test_receipt_screen_prints_once_or_asks_before_wiping(
    qapp: object, cups_queue: Path, programs: dict[str, Program]
) -> None:
    """With a CUPS printer the receipt is printed once per code; without one the code is to be
    noted and "finish" asks once before the visit ends."""
    from kiosk.flow import FlowState, Phase
    from kiosk.station import PrinterKind, PrinterSettings
    from ui.receipt_print import ReceiptPrinting, make_printer

    state = FlowState(phase=Phase.RECEIPT, language="ja", program_id="demo", services=("point",), code=CODE)
    jobs: list[Slip] = []
    real = make_printer(PrinterSettings(kind=PrinterKind.CUPS, queue=QUEUE, paper="roll80"))
    assert real is not None

    def printer(s: Slip) -> None:
        jobs.append(s)
        real(s)

    with_printer = ReceiptPrinting(printer, clock=lambda: WHEN)
    with_printer.show_receipt(state, programs["demo"], "ja")
    with_printer.show_receipt(state, programs["demo"], "ja")  # re-rendered: not printed again
    assert len(jobs) == 1
    assert with_printer.printed
    assert with_printer.confirm_finish()

    none = ReceiptPrinting(make_printer(PrinterSettings()))
    none.show_receipt(state, programs["demo"], "en")
    assert "cannot print" in none.status.text()
    assert "photograph or write down" in none.note.text()
    assert not none.confirm_finish()  # asks once
    assert "Press “Finish” again" in none.note.text()
    assert none.confirm_finish()

    missing = ReceiptPrinting(make_printer(PrinterSettings(kind=PrinterKind.CUPS, queue="madoguchi-no-such")))
    missing.show_receipt(state, programs["demo"], "en")
    assert missing.failed
    assert "could not be printed" in missing.status.text()


def test_escpos_network_printer_over_a_real_socket(qapp: object, programs: dict[str, Program]) -> None:
    """An ESC/POS network printer (port 9100 protocol) played by a local TCP server: the profile's
    printer function opens the socket, sends the job and closes; the bytes are the slip's."""
    import socket
    import threading

    from kiosk.flow import FlowState, Phase
    from kiosk.station import PrinterKind, PrinterSettings
    from ui.receipt_print import ReceiptPrinting, make_printer

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    received = bytearray()

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            while chunk := connection.recv(65536):
                received.extend(chunk)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        printer = make_printer(PrinterSettings(kind=PrinterKind.ESCPOS_NETWORK, host="127.0.0.1", port=port))
        state = FlowState(
            phase=Phase.RECEIPT, language="en", program_id="demo", services=("point",), code=CODE
        )
        screen = ReceiptPrinting(printer, clock=lambda: WHEN)
        screen.show_receipt(state, programs["demo"], "en")
        thread.join(timeout=20)
    finally:
        server.close()
    assert screen.printed
    assert (CODE + "\n").encode() in received
    assert b"\x1d(k" in received  # native QR
    assert received.count(b"\x1dv0") == 2  # heading and body rasters
    assert b"\x1dV" in received[-8:]  # cut


def test_printing_and_voice_load_lazily() -> None:
    """Start-up (bench/ui_startup.py, ≤ 0.5 s) never pays for QtMultimedia, QtPrintSupport or
    python-escpos (195 ms, bench/a11y.py): the kiosk's modules import them when first used."""
    import sys

    code = (
        "import sys\n"
        "import ui.app, ui.assist, ui.receipt_print, ui.printing, ui.voice, ui.illustration, ui.staff\n"
        "heavy = [m for m in ('PySide6.QtMultimedia', 'PySide6.QtPrintSupport', 'escpos')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]"
