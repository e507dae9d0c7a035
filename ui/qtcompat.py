"""Work-around for a reference-count bug of PySide6 6.12.0 on CPython < 3.12.

Measured on this project's interpreter (CPython 3.11.7, PySide6 6.12.0): every call of a
PySide6 method that returns nothing (``setText``, ``processEvents``, ``click``…) drops one
reference to ``None``, and every Python-side ``Signal.emit()`` drops one to ``True``. The bindings
assume CPython 3.12's immortal singletons; on 3.11 the counts fall by about one per widget call and
the process aborts ("Fatal Python error: none_dealloc") after some ten thousand calls, i.e. after
a few dozen residents. See docs/ui.md, "Platform bug".

:func:`keep_singletons_alive` probes for the loss once and, only where it is real (CPython < 3.12,
a release build), adds 2**40 references to ``None``, ``True`` and ``False``, which is what 3.12's
immortality means for them: they are never freed anyway, and the extra count outlasts any kiosk
uptime (10**12 calls). On a fixed PySide6 or a newer interpreter it does nothing. The real fix is
CPython ≥ 3.12 or a PySide6 release without the bug; this module only keeps the kiosk alive
until then.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Final

from PySide6.QtCore import QObject, Signal

#: References added to each singleton when the bug is present.
EXTRA_REFERENCES: Final = 1 << 40
_ROUNDS: Final = 16


class _Probe(QObject):
    ping = Signal()


def _losses() -> tuple[int, int]:
    """References to None and True lost by ``_ROUNDS`` void calls and emits."""
    probe = _Probe()
    none_before = sys.getrefcount(None)
    for _ in range(_ROUNDS):
        probe.setObjectName("probe")
    none_lost = none_before - sys.getrefcount(None)
    true_before = sys.getrefcount(True)
    for _ in range(_ROUNDS):
        probe.ping.emit()
    true_lost = true_before - sys.getrefcount(True)
    return none_lost, true_lost


def _add_references(obj: object, count: int) -> None:
    # ob_refcnt is the first field of every object in a CPython < 3.12 release build.
    ctypes.c_ssize_t.from_address(id(obj)).value += count


def keep_singletons_alive() -> bool:
    """Apply the work-around if this interpreter needs it; True if it was applied (idempotent)."""
    if sys.version_info >= (3, 12) or hasattr(sys, "gettotalrefcount"):
        return False  # immortal singletons, or a debug build with another object layout
    if sys.getrefcount(None) > EXTRA_REFERENCES:
        return True
    none_lost, true_lost = _losses()
    if none_lost < _ROUNDS and true_lost < _ROUNDS:
        return False
    for singleton in (None, True, False):
        _add_references(singleton, EXTRA_REFERENCES)
    return True


#: Whether the work-around is active in this process (decided at first import of ``ui``).
APPLIED: Final = keep_singletons_alive()
