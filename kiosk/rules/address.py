"""Address normalization and prefecture / municipality extraction from the card's address.

Card addresses (DF23) are written like ``宮城県仙台市青葉区本町３丁目８番１号`` with full-width digits,
assorted dashes and sometimes spaces. Residency rules (DESIGN.md §6) compare the prefecture and the
municipality, so both are extracted by rules that know Japan's structure rather than by a full
address dictionary:

* the 47 prefectures (都道府県) are listed;
* the 23 special wards of Tokyo (特別区) are municipalities of their own;
* the 20 designated cities (政令指定都市) have wards (``仙台市青葉区``): city and ward are both kept;
* ``〇〇郡〇〇町/村``: the county (郡) is kept next to the town or village;
* cities whose name itself contains 市 (四日市市, 廿日市市, 野々市市, 市川市, 市原市) or starts
  with 郡 (郡山市) are named explicitly, because a lazy ``…市`` match would cut them short.

The server imports this module too, so both sides derive the same municipality from the same bytes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Final

PREFECTURES: Final[tuple[str, ...]] = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県",
    "茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県",
    "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県", "静岡県", "愛知県",
    "三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県",
    "鳥取県", "島根県", "岡山県", "広島県", "山口県",
    "徳島県", "香川県", "愛媛県", "高知県",
    "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)  # fmt: skip

TOKYO_SPECIAL_WARDS: Final[tuple[str, ...]] = (
    "千代田区", "中央区", "港区", "新宿区", "文京区", "台東区", "墨田区", "江東区", "品川区",
    "目黒区", "大田区", "世田谷区", "渋谷区", "中野区", "杉並区", "豊島区", "北区", "荒川区",
    "板橋区", "練馬区", "足立区", "葛飾区", "江戸川区",
)  # fmt: skip

#: 政令指定都市 (designated cities), each with wards.
DESIGNATED_CITIES: Final[tuple[str, ...]] = (
    "札幌市", "仙台市", "さいたま市", "千葉市", "横浜市", "川崎市", "相模原市", "新潟市",
    "静岡市", "浜松市", "名古屋市", "京都市", "大阪市", "堺市", "神戸市", "岡山市", "広島市",
    "北九州市", "福岡市", "熊本市",
)  # fmt: skip

#: Cities a lazy "…市" or "…郡" rule would cut short or mistake for a county.
IRREGULAR_CITIES: Final[tuple[str, ...]] = (
    "四日市市", "廿日市市", "野々市市", "市川市", "市原市", "郡山市", "小郡市", "大和郡山市", "郡上市",
)  # fmt: skip

#: The one county whose name contains 市.
IRREGULAR_COUNTIES: Final[tuple[str, ...]] = ("余市郡",)

_DASHES: Final = "‐‑‒–—―−－ｰ﹣"  # hyphen variants; ー between digits is handled separately
_SPACES = re.compile(r"[\s\u3000]+")
_LONG_VOWEL_BETWEEN_DIGITS = re.compile(r"(?<=[0-9])[ーｰ](?=[0-9])")
_COUNTY_TOWN = re.compile(r"^(\D{1,5}?郡)(\D{1,6}?[町村])")
_CITY = re.compile(r"^(\D{1,6}?市)")
_WARD = re.compile(r"^(\D{1,5}?区)")
_TOWN = re.compile(r"^(\D{1,5}?[町村])")


def normalize_address(text: str) -> str:
    """NFKC, one kind of hyphen, no spaces: the form compared, hashed and stored.

    Full-width digits and letters become ASCII, every dash variant (and a long-vowel mark between
    digits, a common typing slip for a dash) becomes ``-``, spaces (including U+3000) are dropped.
    """
    value = unicodedata.normalize("NFKC", text)
    value = _LONG_VOWEL_BETWEEN_DIGITS.sub("-", value)
    value = value.translate({ord(c): "-" for c in _DASHES})
    return _SPACES.sub("", value)


def name_key(name: str) -> str:
    """Normalize a municipality or prefecture name for comparison (ヶ/ケ/が spellings vary)."""
    return normalize_address(name).replace("ケ", "ヶ").replace("ヵ", "ヶ")


@dataclass(frozen=True)
class ParsedAddress:
    """An address split for residency rules. The street part is personal data: never in a repr.

    ``municipality`` is the 市, 特別区, 町 or 村 (``"仙台市"``, ``"千代田区"``, ``"松島町"``);
    ``ward`` the ward of a designated city (``"青葉区"``); ``county`` the 郡 of a town or village.
    Any of them may be None when the address does not follow a known pattern.
    """

    normalized: str = field(repr=False)
    prefecture: str | None
    municipality: str | None
    ward: str | None = None
    county: str | None = None
    rest: str = field(default="", repr=False)

    def municipality_names(self) -> frozenset[str]:
        """Every spelling a programme may use for this municipality, in :func:`name_key` form:
        ``仙台市`` and ``仙台市青葉区``; ``松島町`` and ``宮城郡松島町``."""
        if self.municipality is None:
            return frozenset()
        names = {self.municipality}
        if self.ward:
            names.add(self.municipality + self.ward)
        if self.county:
            names.add(self.county + self.municipality)
        return frozenset(name_key(n) for n in names)

    def in_municipality(self, name: str) -> bool:
        """Whether this address lies in the municipality ``name`` (any spelling above)."""
        return name_key(name) in self.municipality_names()


def parse_address(text: str) -> ParsedAddress:
    """Split a card address into prefecture, municipality (ward, county) and the rest."""
    normalized = normalize_address(text)
    prefecture = next((p for p in PREFECTURES if normalized.startswith(p)), None)
    rest = normalized[len(prefecture) :] if prefecture else normalized
    municipality, ward, county, tail = _municipality(prefecture, rest)
    return ParsedAddress(normalized, prefecture, municipality, ward, county, tail)


def _municipality(prefecture: str | None, rest: str) -> tuple[str | None, str | None, str | None, str]:
    """Return (municipality, ward, county, remaining text)."""
    if prefecture == "東京都":
        for ward in TOKYO_SPECIAL_WARDS:
            if rest.startswith(ward):
                return ward, None, None, rest[len(ward) :]
    for city in DESIGNATED_CITIES:
        if rest.startswith(city):
            after = rest[len(city) :]
            m = _WARD.match(after)
            if m:
                return city, m.group(1), None, after[m.end() :]
            return city, None, None, after
    for city in IRREGULAR_CITIES:
        if rest.startswith(city):
            return city, None, None, rest[len(city) :]
    m = _COUNTY_TOWN.match(rest)
    if m:
        county, town = m.group(1), m.group(2)
        # 市 inside a county name only occurs in 余市郡; cities containing 郡 were handled above.
        if "市" not in county or county in IRREGULAR_COUNTIES:
            return town, None, county, rest[m.end() :]
    m = _CITY.match(rest)
    if m:
        return m.group(1), None, None, rest[m.end() :]
    m = _TOWN.match(rest)  # Tokyo's island towns and villages carry no county in the address
    if m:
        return m.group(1), None, None, rest[m.end() :]
    return None, None, None, rest
