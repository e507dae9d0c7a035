"""Reader preference: contactless readers first (pure; no PC/SC here).

PC/SC does not say which interface a reader has, so the name decides (a heuristic over the names
of common contactless readers: PICC/NFC/FeliCa/PaSoRi/RC-S…, and "PCD" = proximity coupling
device, which also covers the vpcd test reader).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: Words in reader names that mark a contactless (PICC/NFC) reader; the kiosk prefers those.
CONTACTLESS_HINTS = ("contactless", "picc", "nfc", "felica", "pasori", "rc-s", "pcd", " cl ", "(cl)")


def is_contactless(reader_name: str) -> bool:
    """True when the reader name looks like a contactless reader."""
    name = f" {reader_name.lower()} "
    return any(hint in name for hint in CONTACTLESS_HINTS)


def order_readers(readers: Sequence[str]) -> list[str]:
    """Readers with contactless ones first, otherwise in PC/SC order (stable)."""
    return sorted(readers, key=lambda r: not is_contactless(r))


def preferred_reader(readers_with_card: Iterable[str]) -> str | None:
    """The reader to use among those holding a card: the first contactless one, else the first."""
    ordered = order_readers(list(readers_with_card))
    return ordered[0] if ordered else None
