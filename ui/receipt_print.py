"""The receipt screen's printing part (issue 13 §5): print the slip once, say whether it was
printed, and make sure an unprinted code is not wiped unseen.

:class:`ReceiptPrinting` is a widget the receipt page embeds. When a receipt is shown it builds the
slip (:func:`kiosk.slip.build_slip`: no personal data) and prints it on the profile's printer
(``[printer]``, :mod:`kiosk.station`): CUPS (A4 or 80 mm roll) or ESC/POS (USB or network). Then:

* printed: "✓ Your receipt has been printed. Please take it.";
* no printer, or printing failed: "⚠ This kiosk cannot print a receipt" (or "… could not print")
  with "Please photograph or write down this code" next to the code shown large
  (``bigCode``), and :meth:`confirm_finish` returns ``False`` once, showing "The receipt was not
  printed. Have you noted the code? Press Finish again to end.": 終了する asks once before the
  wipe.

Printing runs when the receipt is shown, on the GUI thread (QtPrintSupport's painter belongs
there); CUPS spools and returns, ESC/POS sends a few kilobytes. Errors are the typed
:class:`~ui.printing.PrintError` tree; nothing personal is ever in the slip, the log or the error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Final

from PySide6.QtWidgets import QVBoxLayout, QWidget

from kiosk.flow.state import FlowState
from kiosk.i18n import Message
from kiosk.rules.programs import Program
from kiosk.slip import Slip, build_slip
from kiosk.station import PrinterKind, PrinterSettings
from ui.widgets import label

_log = logging.getLogger(__name__)

PRINTED: Final = Message("receipt.printed", "Your receipt has been printed. Please take it.")
NO_PRINTER: Final = Message("receipt.no_printer", "This kiosk cannot print a receipt.")
PRINT_FAILED: Final = Message("receipt.print_failed", "The receipt could not be printed.")
NOTE_CODE: Final = Message("receipt.note_code", "Please photograph or write down this code.")
CONFIRM_FINISH: Final = Message(
    "receipt.confirm_finish",
    "The receipt was not printed. Have you noted the registration code? Press “Finish” again to end.",
)

Printer = Callable[[Slip], None]


def make_printer(settings: PrinterSettings) -> Printer | None:
    """The print function for the profile's printer, or ``None`` when the kiosk has none."""
    if settings.kind is PrinterKind.NONE:
        return None
    if settings.kind is PrinterKind.CUPS:

        def cups(slip: Slip) -> None:
            from ui.printing import Paper, print_cups

            print_cups(slip, settings.queue, Paper(settings.paper))

        return cups

    def escpos(slip: Slip) -> None:
        from ui.printing import PrinterMissingError, print_escpos

        try:
            if settings.kind is PrinterKind.ESCPOS_USB:
                from escpos.printer import Usb

                device = Usb(settings.usb_vendor, settings.usb_product)
            else:
                from escpos.printer import Network

                device = Network(settings.host, settings.port, timeout=10)
            device.open()
        except Exception as exc:  # python-escpos' device errors (USB, socket): typed here
            raise PrinterMissingError(type(exc).__name__) from exc
        try:
            print_escpos(slip, device)
        finally:
            device.close()

    return escpos


class ReceiptPrinting(QWidget):
    """Prints the slip of the receipt on screen and shows the outcome (see the module docstring)."""

    def __init__(self, printer: Printer | None, *, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.printer = printer
        self.clock = clock or (lambda: datetime.now().astimezone())
        self.status = label("notice")
        self.note = label("heading")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addWidget(self.note)
        self._code: str | None = None
        self.printed = False
        self.failed = False
        self._asked = False
        self._language = "ja"

    def show_receipt(self, state: FlowState, program: Program, language: str) -> None:
        """The receipt of ``state`` is on screen: print it once, then show the outcome."""
        self._language = language
        code = state.code
        if code and code != self._code:
            self._code, self.printed, self.failed, self._asked = code, False, False, False
            if self.printer is not None:
                slip = build_slip(
                    code=code,
                    program=program,
                    services=state.services,
                    issued_at=self.clock(),
                    language=language,
                )
                try:
                    self.printer(slip)
                    self.printed = True
                except Exception as exc:  # PrintError and the device's own: the code is shown instead
                    self.failed = True
                    _log.warning("receipt not printed: %s", type(exc).__name__)
        self._render()

    def _render(self) -> None:
        language = self._language
        if self.printed:
            self.status.setText("✓ " + PRINTED.get(language))
            self.note.setVisible(False)
            return
        reason = PRINT_FAILED if self.failed else NO_PRINTER
        self.status.setText("⚠ " + reason.get(language))
        self.note.setText((CONFIRM_FINISH if self._asked else NOTE_CODE).get(language))
        self.note.setVisible(True)

    def confirm_finish(self) -> bool:
        """Whether "finish" may end the visit now: yes after printing; without a print, the
        first press asks (once) and the second ends."""
        if self.printed or self._asked:
            return True
        self._asked = True
        self._render()
        return False

    def wipe(self) -> None:
        self._code, self.printed, self.failed, self._asked = None, False, False, False
        self.status.clear()
        self.note.clear()
