"""pytest fixtures of the UI tests; the helpers live in ``uikit`` so test modules never import a
module named ``conftest`` (which would resolve to whichever conftest pytest loaded first)."""

from uikit import make_kiosk, qapp_cls, themed

__all__ = ["make_kiosk", "qapp_cls", "themed"]
