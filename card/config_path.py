"""Where the kiosk's configuration file is, when the command line does not say.

One small function so that ``card/`` and ``kiosk/`` resolve it the same way.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

logger = logging.getLogger(__name__)

ENV_VAR = "MADOGUCHI_CONFIG"
SYSTEM_CONFIG = Path("/etc/madoguchi/kiosk.toml")
#: The repository's demo profile (trusts the test hierarchy only): the last resort for development.
DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "kiosk.demo.toml"


def resolve_config_path(
    explicit: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    system_config: Path = SYSTEM_CONFIG,
) -> Path:
    """``explicit`` if given, else ``$MADOGUCHI_CONFIG``, else ``/etc/madoguchi/kiosk.toml`` if it
    exists, else the repository's ``config/kiosk.demo.toml``.

    The last resort trusts only the project's TEST hierarchy, so falling back to it is announced
    with a warning: a misdeployed kiosk must not accept test cards silently (docs/security.md)."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ if environ is None else environ
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR])
    if system_config.is_file():
        return system_config
    logger.warning(
        "no kiosk configuration (--config, $%s or %s): using the demo profile %s, "
        "which trusts only the TEST J-LIS hierarchy",
        ENV_VAR,
        system_config,
        DEMO_CONFIG,
    )
    return DEMO_CONFIG
