"""Byte vectors from ../shared/docs/mynacard-protocol.md, copied as hex (not from any source code)."""

from __future__ import annotations

#: §4.1: EF 0002 of a J-LIS test card (synthetic person), 104 bytes.
BASIC_FOUR_104 = bytes.fromhex(
    "FF2065DF2108000E00200059 0064DF220FE9BB92E6A190E38080E5B9B9E4B99F"
    "DF2336E69DB1E4BAACE983BDE6B885E780ACE5B882E8A6B3E5B883E5AD90E58D"
    "97EFBC91EFBC92EFBC8DEFBC97EFBC8DEFBC92EFBC90EFBC92DF240831393830"
    "30323137DF250131".replace(" ", "")
)
#: §4.3 [derived]: SHA-256 of DF22..end of the vector above.
BASIC_FOUR_104_DIGEST = bytes.fromhex("b9e0d09427b23b1d4beda2848512b4103752dc2667e51f9712872d65f472cb3b")
#: §4.2: the 17-byte My Number EF of the test card and (§4.3) its SHA-256.
MY_NUMBER_EF_17 = bytes.fromhex("FF100C353337363836363737313838FFFF")
MY_NUMBER_EF_17_DIGEST = bytes.fromhex("6d5a4c1ef9ab15bf506862d7e66b9c0f179ca065bc936c8e634e9e57449ca9cd")
