"""Make the shelter test helpers importable (``deskkit``) as the sync tests do with ``synctest``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
