"""pytest fixtures of the UI tests; the helpers live in ``uikit`` so test modules never import a
module named ``conftest`` (which would resolve to whichever conftest pytest loaded first)."""

from uikit import gallery_window, make_kiosk, qapp_cls, themed

__all__ = ["gallery_window", "make_kiosk", "qapp_cls", "themed"]
