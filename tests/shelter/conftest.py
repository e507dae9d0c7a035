"""Make the shelter test helpers importable (``deskkit``, ``serverkit``) as the sync tests do with
``synctest``, and the repository root for ``tests.server.factory`` (the server tests' kiosk)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (HERE, HERE.parents[1]):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
