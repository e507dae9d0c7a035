"""The receipt's QR code holds the registration code and nothing else."""

from __future__ import annotations

import qrcode
from PySide6.QtWidgets import QApplication

from ui.qr import qr_image, qr_payload


def test_the_qr_holds_only_the_code(themed: QApplication) -> None:
    code = "QNKD-F9BJ-YP3N-YBT4"  # the form the kiosk issues (kiosk.rules.record.registration_code)
    assert qr_payload(code) == code
    reference = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    reference.add_data(code)
    reference.make(fit=True)
    matrix = reference.get_matrix()
    image = qr_image(code, module_px=4)
    assert image.width() == len(matrix) * 4
    # Every module painted as the reference matrix of the code alone says (sampled at the centres).
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            pixel = image.pixelColor(x * 4 + 2, y * 4 + 2)
            assert (pixel.lightness() < 128) == dark, (x, y)
