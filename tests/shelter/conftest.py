"""Make the shelter test helpers importable (``deskkit``, ``serverkit``) as the sync tests do with
``synctest``, and the repository root for ``tests.server.factory`` (the server tests' kiosk)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
# Appended, not prepended: the repository root must not shadow the test packages' own roots
# (tests/kiosk is the package "kiosk" to pytest; the product's kiosk/ would hide it).
if str(HERE.parents[1]) not in sys.path:
    sys.path.append(str(HERE.parents[1]))
