"""The receipt's QR code: the registration code only (no personal data, no record id).

``qrcode`` computes the module matrix; Qt paints it (no Pillow needed).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter


def preload() -> None:
    """Import ``qrcode`` now (the kiosk's idle time after start-up, :meth:`KioskWindow.warm_up`),
    so the first receipt does not wait ~15 ms for it."""
    import qrcode  # noqa: F401


def qr_payload(code: str) -> str:
    """What the QR code holds: the registration code as printed, nothing else."""
    return code


def qr_image(code: str, *, module_px: int = 8) -> QImage:
    """A black-on-white QR image of :func:`qr_payload` (error correction M, 4-module quiet zone).

    ``qrcode`` (and the Pillow it pulls in) is imported on the first receipt, not at start-up."""
    import qrcode

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(qr_payload(code))
    qr.make(fit=True)
    matrix = qr.get_matrix()
    size = len(matrix) * module_px
    image = QImage(size, size, QImage.Format.Format_RGB32)
    image.fill(QColor(Qt.GlobalColor.white))
    painter = QPainter(image)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                painter.fillRect(x * module_px, y * module_px, module_px, module_px, Qt.GlobalColor.black)
    painter.end()
    return image
