"""Line breaking for the screens: Japanese and Chinese break between phrases, never inside a word.

Qt follows Unicode's line-breaking rules (UAX #14), which allow a break between almost any two
kana or kanji: a heading wraps as 「…してくださ／い」. Words are not marked in Japanese or Chinese
text, so a phrase segmenter is needed. :func:`keep_phrases` asks BudouX (Google's small
machine-learned phrase segmenter, no dictionary, ~15 ms to load) for the phrases and joins the
characters *inside* each phrase with U+2060 WORD JOINER, which UAX #14 (and Qt's QTextLayout,
tested in ``tests/ui/test_line_breaking.py``) never breaks around. Between phrases the usual rules
apply, so a line can still end after 「を」 or 「。」 but never before a small kana, a long-vowel mark or
closing punctuation (BudouX keeps those with the phrase before them).

Why word joiners rather than zero-width spaces: a ZWSP only *adds* break opportunities, and CJK text
already has one between every two characters; only a joiner takes the wrong ones away. The joiner
has no glyph and no advance (Qt hides default-ignorable code points), so measured widths do not
change. Korean is set with spaces between words (어절); Hangul syllables inside one are joined the
same way, which is the "keep-all" rule Korean typesetting uses. Latin scripts break at spaces
already and are returned unchanged. やさしい日本語 writes its phrases apart; a short chunk between
two spaces is kept whole rather than segmented again.

:func:`plain` removes the joiners again (tests and speech compare texts without them).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Final

from PySide6.QtGui import QFont, QTextLayout, QTextOption

if TYPE_CHECKING:
    from budoux import Parser

WORD_JOINER: Final = "\u2060"
_KANA: Final = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HANGUL: Final = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_parsers: dict[str, Parser] = {}


def _parser(kind: str) -> Parser:
    """BudouX's bundled model for ``kind`` ("ja" or "zh-hans"), loaded on first use."""
    parser = _parsers.get(kind)
    if parser is None:
        import budoux

        if kind == "ja":
            parser = budoux.load_default_japanese_parser()
        else:
            parser = budoux.load_default_simplified_chinese_parser()
        _parsers[kind] = parser
    return parser


def preload_models() -> None:
    """Load both BudouX models now (the kiosk's idle time, ``KioskWindow.warm_up``), not in the
    middle of a resident's path (~10 ms each)."""
    _parser("ja")
    _parser("zh-hans")


def _join(phrase: str) -> str:
    """Join the characters of one phrase; a space stays a break opportunity (no joiner beside it)."""
    out: list[str] = []
    for index, char in enumerate(phrase):
        if index and not char.isspace() and not phrase[index - 1].isspace():
            out.append(WORD_JOINER)
        out.append(char)
    return "".join(out)


@lru_cache(maxsize=4096)
def keep_phrases(text: str) -> str:
    """``text`` with word joiners inside each phrase (Japanese, Chinese) or word (Korean).

    The script decides, not the screen language: a Japanese programme name shown on the English
    screen, or a resident's address, breaks by the same rules. Kana means Japanese; Han without
    kana is segmented with the Chinese model (BudouX's Japanese model splits kanji-only strings
    too, but the Chinese one knows Chinese words).
    """
    if WORD_JOINER in text or len(text) <= _SHORT_CHUNK:
        return text  # a word that short never wraps (language names: no model loaded for them)
    if _KANA.search(text) or _HAN.search(text):
        kind = "ja" if _KANA.search(text) else "zh-hans"
        return "\n".join(_keep_line(line, kind) for line in text.split("\n"))
    if _HANGUL.search(text):
        return " ".join(_join(word) for word in text.split(" "))
    return text


#: A space-separated chunk up to this long is one phrase (やさしい日本語 writes phrases apart:
#: 「ばんごうは ちがいます」); BudouX would split 「ちが／います」 inside it.
_SHORT_CHUNK: Final = 10


def _keep_line(line: str, kind: str) -> str:
    if not line.strip():
        return line
    chunks = line.split(" ")
    if len(chunks) > 1:
        return " ".join(_join(c) if len(c) <= _SHORT_CHUNK else _keep_line(c, kind) for c in chunks)
    return "".join(_join(p) for p in _parser(kind).parse(line))


def plain(text: str) -> str:
    """``text`` without the joiners :func:`keep_phrases` added."""
    return text.replace(WORD_JOINER, "")


def wrap_lines(text: str, font: QFont, width: int) -> list[str]:
    """The lines Qt lays ``text`` out in at ``width`` px (word wrap at break opportunities only),
    with the joiners removed and line-end spaces stripped. A phrase wider than ``width`` stays on
    one line (and is then wider than ``width``: the fit test's finding)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        layout = QTextLayout(paragraph, font)
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WordWrap)
        layout.setTextOption(option)
        layout.beginLayout()
        while True:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(max(1, width))
            start = line.textStart()
            lines.append(plain(paragraph[start : start + line.textLength()]).strip())
        layout.endLayout()
        if not paragraph:
            lines.append("")
    return lines
