"""Japanese (and Chinese) lines break between phrases, never inside a word or before small kana or
closing punctuation (the review's 「くださ／い」), with Qt's own line layout (QTextLayout, which
QLabel uses) and BudouX phrases joined by U+2060."""

from __future__ import annotations

import re

import pytest
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QApplication, QLabel

from ui.text import WORD_JOINER, keep_phrases, plain, wrap_lines
from ui.theme import FONT_FAMILY
from ui.widgets import WrapButton, label

SENTENCES = [
    "マイナンバーカードを読み取り機に置いてください",  # the review's 「くださ／い」 heading
    "登録が終わるまで、カードは置いたままにしてください。",
    "マイナンバーカードを きかいの うえに おいて ください",  # やさしい日本語, spaced
    "利用者証明用電子証明書の暗証番号（数字4桁）を入力してください。",
    "请将您的个人编号卡放在读卡器上",  # Chinese: the zh-hans model
]
#: Never at the start of a line: small kana, the long-vowel mark, closing punctuation.
NO_LINE_START = re.compile(r"^[ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶー、。，．）」』】〕！？]")


@pytest.fixture
def font(themed: QApplication) -> QFont:
    return QFont(FONT_FAMILY, 20)


def _widths(text: str, font: QFont) -> range:
    metrics = QFontMetrics(font)
    em = metrics.horizontalAdvance("あ")
    return range(em * 2, metrics.horizontalAdvance(text) + em, max(1, em // 3))


@pytest.mark.parametrize("text", SENTENCES)
def test_lines_never_split_a_phrase(font: QFont, text: str) -> None:
    joined = keep_phrases(text)
    phrases = [p for p in re.split(r"[ ]", text) if p]
    assert WORD_JOINER in joined
    assert plain(joined) == text  # nothing but joiners added
    for width in _widths(text, font):
        lines = wrap_lines(joined, font, width)
        assert "".join(lines).replace(" ", "") == text.replace(" ", ""), width  # nothing lost
        for line in lines[1:]:
            assert not NO_LINE_START.match(line), (width, lines)
        for line in lines:
            assert not line.endswith("くださ"), (width, lines)
        if " " in text:  # spaced やさしい日本語: a line break only at a space
            for line in lines:
                assert all(p in phrases for p in line.split(" ") if p), (width, lines)


def test_without_the_joiners_qt_breaks_inside_words(font: QFont) -> None:
    """The failure the joiners prevent (so the test above can fail): Qt alone splits ください."""
    text = SENTENCES[0]
    layouts = [wrap_lines(text, font, width) for width in _widths(text, font)]
    assert any(line.endswith(("くださ", "くだ", "く")) for lines in layouts for line in lines)


def test_the_joiner_is_invisible(font: QFont) -> None:
    metrics = QFontMetrics(font)
    for text in SENTENCES:
        assert abs(metrics.horizontalAdvance(keep_phrases(text)) - metrics.horizontalAdvance(text)) <= 6


def test_labels_and_buttons_keep_the_plain_text(themed: QApplication) -> None:
    widget = label()
    widget.setText(SENTENCES[1])
    assert widget.text() == SENTENCES[1]  # tests and speech see the text, not the joiners
    assert WORD_JOINER in QLabel.text(widget)  # Qt lays out the joined text
    button = WrapButton()
    button.setText("□ もう 1つの 4けたの ばんごうは ちがいます")
    button.resize(260, 200)
    assert button.text() == "□ もう 1つの 4けたの ばんごうは ちがいます"
    lines = button.lines()
    assert len(lines) > 1  # wraps instead of being clipped (the review's PIN-choice buttons)
    assert " ".join(lines).split() == button.text().split()
    assert button.heightForWidth(260) > button.heightForWidth(2000)


def test_korean_keeps_words_whole(font: QFont) -> None:
    text = "마이넘버 카드를 리더기에 올려 주세요"
    words = text.split(" ")
    for width in _widths(text, font):
        for line in wrap_lines(keep_phrases(text), font, width):
            assert all(w in words for w in line.split(" ") if w), (width, line)
