"""Print the registration slip (:mod:`kiosk.slip`): CUPS through Qt's print support, or an ESC/POS
receipt printer through python-escpos (USB or network).

One layout, :func:`paint_slip`, draws the slip with :class:`QPainter` at any width, so the A4 page,
the 80 mm roll and the ESC/POS raster are the same drawing:

* **CUPS** (:func:`print_cups`): a :class:`QPrinter` on the named queue, A4 or an 80 mm roll
  (72 mm printable, the length fitted to the content). Qt renders the text itself, so Japanese and
  every other script print with the kiosk's own font whatever the printer's.
* **ESC/POS** (:func:`print_escpos`): the code is sent as printer text (ASCII) and as the printer's
  native QR (``GS ( k``), so it stays sharp and scannable; the paragraphs go as one raster image
  (``GS v 0``) drawn by the same layout, because an ESC/POS printer's built-in fonts rarely have
  Japanese, let alone やさしい日本語 ruby, Nepali or Vietnamese; then a partial cut.

python-escpos and QtPrintSupport are imported inside the functions: the kiosk's cold start
(``bench/ui_startup.py``, ≤ 0.5 s) never pays for them. Failures are :class:`PrintError`
subclasses; the receipt screen then says the slip was not printed and shows the code large
("photograph or write down this code").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, unique
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QTextOption

from kiosk.slip import Slip
from ui.qr import qr_image
from ui.theme import FONT_FAMILY

if TYPE_CHECKING:
    from escpos.escpos import Escpos
    from PySide6.QtPrintSupport import QPrinter


class PrintError(Exception):
    """The slip could not be printed (base of the printing errors)."""


class PrinterMissingError(PrintError):
    """No such printer: the CUPS queue does not exist or the ESC/POS device cannot be opened."""


class PrintFailedError(PrintError):
    """The printer was found but refused or lost the job."""


@unique
class Paper(Enum):
    """Paper the CUPS queue holds."""

    A4 = "a4"
    ROLL_80MM = "roll80"


#: 80 mm roll: 72 mm printable width (the usual 576-dot head at 203 dpi).
ROLL_WIDTH_MM: Final = 72.0
#: ESC/POS raster width in dots (80 mm printers at 203 dpi print 576 dots).
ESCPOS_WIDTH_DOTS: Final = 576


@dataclass(frozen=True)
class _Metrics:
    """Type sizes in device pixels for a given width (everything scales with the page)."""

    width: float
    body_px: float
    title_px: float
    code_px: float
    qr_module: int
    gap: float


def _metrics(width: float) -> _Metrics:
    # 576 px (72 mm at 203 dpi) gets a 22 px body, about 2.8 mm: the smallest size older residents
    # read comfortably on a receipt; A4 pages scale the same proportions.
    unit = width / 576
    return _Metrics(
        width=width,
        body_px=22 * unit,
        title_px=34 * unit,
        code_px=52 * unit,
        qr_module=max(2, round(6 * unit)),
        gap=14 * unit,
    )


def _font(pixels: float, *, bold: bool = False) -> QFont:
    # Latin letters and digits from Noto Sans, the rest from Noto Sans CJK JP (Japanese glyph
    # variants): Qt's PDF output maps CJK-font digits to no Unicode, so a PDF of the slip would not
    # be searchable for its own code or phone number.
    font = QFont()
    font.setFamilies(["Noto Sans", FONT_FAMILY])
    font.setPixelSize(max(1, round(pixels)))
    font.setBold(bold)
    return font


#: The slip's three parts, top to bottom: title and code label; the code and its QR; the rest.
HEAD: Final = "head"
CODE: Final = "code"
BODY: Final = "body"
ALL_PARTS: Final = (HEAD, CODE, BODY)


def paint_slip(
    painter: QPainter, slip: Slip, width: float, *, top: float = 0.0, parts: tuple[str, ...] = ALL_PARTS
) -> float:
    """Draw ``parts`` of ``slip`` ``width`` device pixels wide from ``top``; return the height used.

    Painting with an inactive painter is not possible, so callers that need the height first
    (the roll, the ESC/POS raster) paint once onto a scratch image: :func:`slip_height`.
    """
    m = _metrics(width)
    y = top
    wrap = QTextOption()
    wrap.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    painter.setPen(QPen(QColor(Qt.GlobalColor.black)))

    def block(text: str, font: QFont, *, center: bool = False, pad: float = 0.0) -> float:
        painter.setFont(font)
        wrap.setAlignment(Qt.AlignmentFlag.AlignHCenter if center else Qt.AlignmentFlag.AlignLeft)
        box = QRectF(pad, 0, width - 2 * pad, 1e6)
        needed = painter.boundingRect(box, text, wrap).height()
        painter.drawText(QRectF(pad, y, width - 2 * pad, needed), text, wrap)
        return needed

    if HEAD in parts:
        y += block(slip.title, _font(m.title_px, bold=True), center=True) + m.gap
        y += block(slip.code_label, _font(m.body_px), center=True)
    if CODE in parts:
        y += block(slip.code, _font(m.code_px, bold=True), center=True) + m.gap / 2
        qr = qr_image(slip.code, module_px=m.qr_module)
        painter.drawImage(QRectF((width - qr.width()) / 2, y, qr.width(), qr.height()), qr)
        y += qr.height() + m.gap
    if BODY not in parts:
        return y - top
    for line in slip.lines:
        y += block(line, _font(m.body_px)) + m.gap / 2
    # the anti-fraud notice framed, so it reads as a warning without colour
    painter.setFont(_font(m.body_px, bold=True))
    pad = m.gap
    wrap.setAlignment(Qt.AlignmentFlag.AlignLeft)
    inner = QRectF(2 * pad, 0, width - 4 * pad, 1e6)
    needed = painter.boundingRect(inner, slip.anti_fraud, wrap).height()
    frame = QRectF(pad / 2, y + m.gap / 2, width - pad, needed + 2 * pad)
    painter.setPen(QPen(QColor(Qt.GlobalColor.black), max(2.0, 3 * width / 576)))
    painter.drawRect(frame)
    painter.drawText(QRectF(2 * pad, frame.top() + pad, width - 4 * pad, needed), slip.anti_fraud, wrap)
    y = frame.bottom() + m.gap
    return y - top


def slip_height(slip: Slip, width: float, parts: tuple[str, ...] = ALL_PARTS) -> float:
    """The height :func:`paint_slip` needs at ``width`` (measured by painting on a scratch image)."""
    scratch = QImage(8, 8, QImage.Format.Format_Mono)
    painter = QPainter(scratch)
    try:
        return paint_slip(painter, slip, width, parts=parts)
    finally:
        painter.end()


def slip_image(slip: Slip, width: int = ESCPOS_WIDTH_DOTS, parts: tuple[str, ...] = ALL_PARTS) -> QImage:
    """``parts`` of the slip as a black-on-white image ``width`` pixels wide (ESC/POS, previews)."""
    height = int(slip_height(slip, width, parts)) + 1
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor(Qt.GlobalColor.white))
    painter = QPainter(image)
    try:
        paint_slip(painter, slip, width, parts=parts)
    finally:
        painter.end()
    return image


def print_cups(
    slip: Slip, queue: str, paper: Paper = Paper.A4, *, document_name: str = "madoguchi-slip"
) -> None:
    """Send ``slip`` to the CUPS ``queue`` on ``paper``.

    :raises PrinterMissingError: no such queue.
    :raises PrintFailedError: Qt could not start or finish the job.
    """
    from PySide6.QtPrintSupport import QPrinter, QPrinterInfo

    info = QPrinterInfo.printerInfo(queue)
    if info.isNull():
        raise PrinterMissingError(queue)
    printer = QPrinter(info, QPrinter.PrinterMode.HighResolution)
    printer.setDocName(document_name)
    _print_on(printer, slip, paper, queue)


def print_pdf(slip: Slip, path: str, paper: Paper = Paper.A4) -> None:
    """Write ``slip`` as a PDF file: the very drawing :func:`print_cups` sends (tests; a staff
    copy). :raises PrintFailedError: the file could not be written."""
    from PySide6.QtPrintSupport import QPrinter

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(path)
    _print_on(printer, slip, paper, path)


def _print_on(printer: QPrinter, slip: Slip, paper: Paper, where: str) -> None:
    from PySide6.QtCore import QMarginsF, QSizeF
    from PySide6.QtGui import QPageLayout, QPageSize
    from PySide6.QtPrintSupport import QPrinter

    printer.setColorMode(QPrinter.ColorMode.GrayScale)
    if paper is Paper.A4:
        size = QPageSize(QPageSize.PageSizeId.A4)
        margins = QMarginsF(20, 20, 20, 20)
    else:
        dpmm = printer.resolution() / 25.4
        length_mm = slip_height(slip, ROLL_WIDTH_MM * dpmm) / dpmm + 10
        size = QPageSize(QSizeF(80, length_mm), QPageSize.Unit.Millimeter, "Roll 80 mm")
        margins = QMarginsF(4, 4, 4, 4)
    layout = QPageLayout(size, QPageLayout.Orientation.Portrait, margins, QPageLayout.Unit.Millimeter)
    if not printer.setPageLayout(layout):
        raise PrintFailedError(f"{where}: page layout {paper.value} refused")
    painter = QPainter()
    if not painter.begin(printer):
        raise PrintFailedError(f"{where}: could not start the job")
    try:
        width = printer.pageRect(QPrinter.Unit.DevicePixel).width()
        if paper is Paper.A4:
            width = min(width, 120 * printer.resolution() / 25.4)  # a slip, not a poster
        paint_slip(painter, slip, width)
    finally:
        if not painter.end():
            raise PrintFailedError(f"{where}: the job did not finish")


def _to_pil(image: QImage) -> object:
    """A Pillow greyscale image of ``image`` (python-escpos rasterises Pillow images)."""
    from PIL import Image

    grey = image.convertToFormat(QImage.Format.Format_Grayscale8)
    data = bytes(grey.constBits())[: grey.sizeInBytes()]
    return Image.frombuffer("L", (grey.width(), grey.height()), data, "raw", "L", grey.bytesPerLine(), 1)


def print_escpos(slip: Slip, printer: Escpos) -> None:
    """Send ``slip`` to an ESC/POS ``printer`` (python-escpos ``Usb``, ``Network`` or ``Dummy``).

    :raises PrintFailedError: the device refused or went away mid-job.
    """
    try:
        printer.image(_to_pil(slip_image(slip, parts=(HEAD,))), center=True)
        printer.set(align="center", bold=True, double_height=True, double_width=True)
        printer.text(slip.code + "\n")
        printer.set(align="center", normal_textsize=True)
        printer.qr(slip.code, size=8, native=True)
        printer.image(_to_pil(slip_image(slip, parts=(BODY,))), center=True)
        printer.cut(mode="PART")
    except PrintError:
        raise
    except Exception as exc:  # the python-escpos device's own errors (USB, socket): typed here
        raise PrintFailedError(type(exc).__name__) from exc
