"""BER-TLV as used by the My Number Card: multi-byte tags, short and long-form lengths, bounds checked.

Pure functions over ``bytes``. Every failure is a :class:`card.errors.MalformedCardDataError`; no
input can make a parser read out of bounds, loop, or allocate more than its input (lengths are
checked against the bytes actually present before slicing). Tags are returned as integers of their
encoded bytes (``FF 20`` → ``0xFF20``), the way the protocol reference writes them (§4).
"""

from __future__ import annotations

from dataclasses import dataclass

from card.errors import MalformedCardDataError

#: Longest length field accepted: 0x83 + 3 bytes (16 MiB), far beyond any EF (§2.1: 15-bit offsets).
_MAX_LENGTH_BYTES = 3
#: Longest tag accepted (bytes); the card uses at most 2.
_MAX_TAG_BYTES = 3


@dataclass(frozen=True, slots=True)
class Tlv:
    """One decoded TLV. ``offset`` is where its tag starts in the parsed buffer."""

    tag: int
    value: bytes
    offset: int
    header_length: int

    @property
    def end(self) -> int:
        """Offset just after the value."""
        return self.offset + self.header_length + len(self.value)

    @property
    def constructed(self) -> bool:
        """Bit 6 of the first tag byte (ISO 7816-4 / X.690)."""
        first = self.tag
        while first > 0xFF:
            first >>= 8
        return bool(first & 0x20)

    def __repr__(self) -> str:
        return f"Tlv(tag=0x{self.tag:X}, length={len(self.value)}, offset={self.offset})"


def _parse_tag(buf: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(buf):
        raise MalformedCardDataError("TLV truncated: no tag")
    first = buf[pos]
    tag = first
    pos += 1
    if first & 0x1F == 0x1F:
        count = 1
        while True:
            if pos >= len(buf):
                raise MalformedCardDataError("TLV truncated inside a multi-byte tag")
            b = buf[pos]
            tag = (tag << 8) | b
            pos += 1
            count += 1
            if count > _MAX_TAG_BYTES:
                raise MalformedCardDataError("TLV tag too long")
            if not b & 0x80:
                break
    return tag, pos


def _parse_length(buf: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(buf):
        raise MalformedCardDataError("TLV truncated: no length")
    first = buf[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if count == 0:
        raise MalformedCardDataError("indefinite BER length is not used by this card")
    if count > _MAX_LENGTH_BYTES:
        raise MalformedCardDataError("TLV length field too long")
    if pos + count > len(buf):
        raise MalformedCardDataError("TLV truncated inside the length field")
    return int.from_bytes(buf[pos : pos + count], "big"), pos + count


def parse_header(buf: bytes, offset: int = 0) -> tuple[int, int, int]:
    """Decode the tag and length at ``offset``: ``(tag, header_length, value_length)``.

    Needs only the header bytes, so it works on a header probe of a file read in chunks.
    """
    if offset < 0:
        raise MalformedCardDataError("negative TLV offset")
    tag, pos = _parse_tag(buf, offset)
    length, pos = _parse_length(buf, pos)
    return tag, pos - offset, length


def parse_one(buf: bytes, offset: int = 0) -> Tlv:
    """Decode the TLV starting at ``offset``; bytes after it are ignored (EF filler)."""
    tag, header_length, length = parse_header(buf, offset)
    start = offset + header_length
    if start + length > len(buf):
        raise MalformedCardDataError("TLV value runs past the end of the data")
    return Tlv(tag, bytes(buf[start : start + length]), offset, header_length)


def parse_all(buf: bytes) -> list[Tlv]:
    """Decode a concatenation of TLVs that must fill ``buf`` exactly (the value of a constructed TLV)."""
    items: list[Tlv] = []
    pos = 0
    while pos < len(buf):
        item = parse_one(buf, pos)
        items.append(item)
        pos = item.end
    return items


def encode_length(length: int) -> bytes:
    """BER definite length: short form below 0x80, else 81/82/83 + big-endian bytes."""
    if length < 0:
        raise ValueError("negative length")
    if length < 0x80:
        return bytes((length,))
    size = (length.bit_length() + 7) // 8
    if size > _MAX_LENGTH_BYTES:
        raise ValueError("length too large")
    return bytes((0x80 | size,)) + length.to_bytes(size, "big")


def encode(tag: int, value: bytes) -> bytes:
    """Encode one TLV (tag given as its encoded bytes, e.g. 0xDF22)."""
    if tag < 0:
        raise ValueError("negative tag")
    tag_bytes = tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")
    return tag_bytes + encode_length(len(value)) + value


def children(tlv: Tlv) -> dict[int, Tlv]:
    """Children of a constructed TLV by tag; duplicate tags are malformed for every record we read.

    Child offsets are made absolute (relative to the buffer ``tlv`` was parsed from).
    """
    out: dict[int, Tlv] = {}
    base = tlv.offset + tlv.header_length
    for child in parse_all(tlv.value):
        if child.tag in out:
            raise MalformedCardDataError(f"duplicate tag {child.tag:X}")
        out[child.tag] = Tlv(child.tag, child.value, base + child.offset, child.header_length)
    return out
