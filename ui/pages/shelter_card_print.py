"""Print the wallet-size 避難所受付カード (ID-1, 85.6 × 54 mm) from :func:`kiosk.shelter_card.card_content`.

The registration slip's printing (:mod:`ui.printing`) lays out a slip; this is the card: the
title (ja / en), the QR of ``MDGC1:<token>`` drawn from the content's own module matrix, the code
to type ``XXXXX-XXXXX-XXXXX`` and three short lines per language. No personal data is on it
(docs/shelter.md §3). Same printing path as the slip: a :class:`QPrinter` on a CUPS queue (a card
printer, or a label printer with ID-1 stock) or a PDF file; failures are :mod:`ui.printing`'s
:class:`~ui.printing.PrintError` subclasses.

Registration calls :func:`kiosk.shelter_card.issue_checkin_card` (which queues the token record)
and then :func:`print_checkin_card`; wiring that into the receipt screen is the printing owner's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter

from kiosk.shelter_card import CardContent
from ui.printing import PrinterMissingError, PrintFailedError
from ui.theme import FONT_FAMILY

if TYPE_CHECKING:
    from PySide6.QtPrintSupport import QPrinter

CARD_MM = (85.6, 54.0)


#: The face of the check-in code (Debian's fonts-noto-core, installed by scripts/setup.sh).
CODE_FONT_FAMILY = "Noto Sans"


def _font(pixels: float, *, bold: bool = False) -> QFont:
    font = QFont(FONT_FAMILY)
    font.setPixelSize(max(1, round(pixels)))
    font.setBold(bold)
    return font


def paint_checkin_card(painter: QPainter, content: CardContent, width: float, height: float) -> None:
    """Draw the card into ``width`` × ``height`` device pixels at the painter's origin: the QR
    (30 mm) top left, title and code beside it, the short lines across the bottom."""
    unit = height / CARD_MM[1]  # pixels per millimetre
    painter.fillRect(QRectF(0, 0, width, height), QColor("white"))
    painter.setPen(QColor("black"))
    margin = 3.0 * unit
    qr_side = 30.0 * unit
    cell = qr_side / len(content.qr_matrix)
    for row_index, row in enumerate(content.qr_matrix):
        for column, dark in enumerate(row):
            if dark:
                painter.fillRect(
                    QRectF(margin + column * cell, margin + row_index * cell, cell, cell), QColor("black")
                )
    flags = int(Qt.TextFlag.TextWordWrap)
    left = 2 * margin + qr_side
    side = width - left - margin
    top = margin + 2.0 * unit
    for text, size, bold, advance in (
        (content.title_ja, 4.6, True, 7.0),
        (content.title_en, 2.8, False, 6.0),
        (content.token_text, 3.0, True, 5.0),
    ):
        font = _font(size * unit, bold=bold)
        wrap = flags
        if text == content.token_text:
            # a Latin face for the code: the CJK face's Latin glyphs get no usable text layer in
            # the PDF (pdftotext lost digits and whole groups), and a scanner-less desk types it
            font.setFamily(CODE_FONT_FAMILY)
            # the code is one unbreakable run (a hyphen must never wrap it onto the next line):
            # shrink it until it fits the space beside the QR
            wrap = 0
            while QFontMetricsF(font).horizontalAdvance(text) > side and font.pixelSize() > 1:
                font.setPixelSize(font.pixelSize() - 1)
        painter.setFont(font)
        painter.drawText(QRectF(left, top, side, advance * unit), wrap, text)
        top += advance * unit
    line_top = margin + qr_side + 1.5 * unit
    painter.setFont(_font(2.0 * unit))
    for line in (*content.lines_ja, *content.lines_en):
        painter.drawText(QRectF(margin, line_top, width - 2 * margin, 2.6 * unit), flags, line)
        line_top += 2.6 * unit


def _print_on(printer: QPrinter, content: CardContent, where: str) -> None:
    from PySide6.QtCore import QMarginsF, QSizeF
    from PySide6.QtGui import QPageLayout, QPageSize
    from PySide6.QtPrintSupport import QPrinter

    printer.setColorMode(QPrinter.ColorMode.GrayScale)
    size = QPageSize(QSizeF(*CARD_MM), QPageSize.Unit.Millimeter, "ID-1 card")
    layout = QPageLayout(
        size, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Millimeter
    )
    if not printer.setPageLayout(layout):
        raise PrintFailedError(f"{where}: the card page size was refused")
    painter = QPainter()
    if not painter.begin(printer):
        raise PrintFailedError(f"{where}: could not start the job")
    try:
        page = printer.pageRect(QPrinter.Unit.DevicePixel)
        paint_checkin_card(painter, content, page.width(), page.height())
    finally:
        if not painter.end():
            raise PrintFailedError(f"{where}: the job did not finish")


def checkin_card_pdf(content: CardContent, path: str) -> None:
    """Write the card as a one-page PDF (tests; a copy for staff to print elsewhere)."""
    from PySide6.QtPrintSupport import QPrinter

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(path)
    _print_on(printer, content, path)


def print_checkin_card(content: CardContent, queue: str) -> None:
    """Print the card on the CUPS queue ``queue``.

    :raises PrinterMissingError: no such queue.
    :raises PrintFailedError: the printer refused or lost the job.
    """
    from PySide6.QtPrintSupport import QPrinter, QPrinterInfo

    if queue not in QPrinterInfo.availablePrinterNames():
        raise PrinterMissingError(f"no CUPS queue named {queue!r}")
    printer = QPrinter(QPrinterInfo.printerInfo(queue), QPrinter.PrinterMode.HighResolution)
    _print_on(printer, content, queue)
