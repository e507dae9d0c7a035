"""The kiosk screens' own labels (buttons, headings) in 日本語, やさしい日本語 and English.

The flow's messages (errors, notices, PIN prompts) come from :mod:`kiosk.messages` so the terminal
and the Qt front-end say the same thing; this table only holds what exists on screens alone.
Polite Japanese uses です・ます; やさしい日本語 uses short sentences, spaces between phrases and
hiragana for hard kanji. Other profile languages fall back to English (as ``Localized.get`` does).
"""

from __future__ import annotations

from typing import Final

from kiosk.messages import localize
from kiosk.programs import Localized

#: The languages offered on every screen: (code, name in that language).
LANGUAGES: Final = (("ja", "日本語"), ("ja-easy", "やさしい にほんご"), ("en", "English"))

# key: (polite Japanese, やさしい日本語, English)
_TEXTS: Final[dict[str, tuple[str, str, str]]] = {
    "app_title": (
        "窓口 — マイナンバーカード登録",
        "まどぐち — とうろく",
        "Madoguchi — My Number Card registration",
    ),
    "idle_title": (
        "マイナンバーカードで登録できます",
        "マイナンバーカードで とうろく できます",
        "Register with your My Number Card",
    ),
    "idle_start": ("画面にタッチして始めてください", "ここを さわって ください", "Touch here to start"),
    "language_title": ("言語を選んでください", "ことばを えらんで ください", "Choose your language"),
    "programs_title": (
        "申し込むプログラムを選んでください",
        "もうしこむ プログラムを えらんで ください",
        "Choose the programme to apply for",
    ),
    "services_title": (
        "登録するサービスを選んでください",
        "とうろく する サービスを えらんで ください",
        "Choose the services to register",
    ),
    "required": ("（必須）", "（かならず）", " (required)"),
    "selected": ("✓ 選択中", "✓ えらびました", "✓ selected"),
    "not_selected": ("□ 未選択", "□ えらんで いません", "□ not selected"),
    "next": ("次へ", "つぎへ", "Next"),
    "back": ("戻る", "もどる", "Back"),
    "cancel": ("中止する", "やめる", "Cancel"),
    "consent_title": ("利用規約への同意", "やくそく（きやく）", "Terms of use"),
    "terms_version": ("規約の版：{v}", "きやくの はん：{v}", "Terms version: {v}"),
    "agree": ("同意する", "はい、いいです（どうい）", "I agree"),
    "disagree": ("同意しない", "いいえ", "I do not agree"),
    "wait_card": (
        "マイナンバーカードを読み取り機に置いてください",
        "マイナンバーカードを きかいの うえに おいて ください",
        "Place your My Number Card on the reader",
    ),
    "wait_card_hint": (
        "登録が終わるまで、カードは置いたままにしてください。",
        "おわるまで、カードを とらないで ください。",
        "Leave the card on the reader until the end.",
    ),
    "reinsert_title": (
        "もう一度カードを置いてください",
        "もう いちど カードを おいて ください",
        "Place your card again",
    ),
    "busy_prefetch": ("カードを確認しています…", "カードを しらべて います…", "Checking the card…"),
    "busy_verifying": ("カードを読み取っています…", "カードを よんで います…", "Reading the card…"),
    "busy_saving": ("登録しています…", "とうろく して います…", "Registering…"),
    "busy_hint": (
        "カードを動かさないでください。",
        "カードを うごかさないで ください。",
        "Please do not move the card.",
    ),
    "caution": ("⚠ ご注意ください", "⚠ ちゅうい", "⚠ Caution"),
    "last_try_continue": ("理解して入力に進む", "わかりました。いれます", "I understand, continue"),
    "pin_title": ("暗証番号の入力", "あんしょうばんごう", "Enter your PIN"),
    "pin_ok": ("決定", "けってい", "OK"),
    "pin_clear": ("全部消す", "ぜんぶ けす", "Clear"),
    "pin_delete": ("1字消す", "1つ けす", "Delete"),
    "pin_progress": ("{n}／4桁入力済み", "{n}／4 いれました", "{n} of 4 digits entered"),
    "pin_hidden": (
        "番号は画面に表示されません。周りの人に見られないようにしてください。",
        "ばんごうは がめんに でません。ほかの ひとに みせないで ください。",
        "The number is never shown. Keep it hidden from others.",
    ),
    "pin_last_try_banner": (
        "⚠ 残り1回です。間違えるとロックされます。",
        "⚠ あと 1かい です。まちがえると ロック されます。",
        "⚠ Last try. A wrong PIN locks it.",
    ),
    "same_as_auth": (
        "利用者証明用の暗証番号も同じ番号です",
        "りようしゃ しょうめいようの あんしょうばんごうも おなじ です",
        "My authentication PIN is the same number",
    ),
    "confirm_title": (
        "カードの内容をご確認ください",
        "カードの ないようを みて ください",
        "Please check the details on your card",
    ),
    "name": ("氏名", "なまえ", "Name"),
    "address": ("住所", "じゅうしょ", "Address"),
    "birth_date": ("生年月日", "うまれた ひ", "Date of birth"),
    "sex": ("性別", "せいべつ", "Sex"),
    "sex_1": ("男性", "おとこ", "Male"),
    "sex_2": ("女性", "おんな", "Female"),
    "sex_9": ("適用不能", "なし", "Not applicable"),
    "sex_0": ("不明", "わからない", "Not known"),
    "confirm_yes": (
        "内容は正しいです（本人です）",
        "ただしいです（わたし です）",
        "This is me, the details are right",
    ),
    "confirm_no": ("違います", "ちがいます", "This is not right"),
    "eligibility_title": ("確認の結果", "しらべた けっか", "Result of the check"),
    "eligible": (
        "✓ この端末での確認では、条件を満たしています。",
        "✓ この きかいで しらべました。じょうけんに あって います。",
        "✓ The kiosk's check found that you meet the conditions.",
    ),
    "register": ("この内容で登録する", "とうろく する", "Register"),
    "not_eligible_title": ("✕ 条件を満たしていません", "✕ じょうけんに あいません", "✕ Conditions not met"),
    "receipt_title": ("✓ 登録を受け付けました", "✓ うけつけました", "✓ Registration received"),
    "code_label": ("受付番号", "うけつけ ばんごう", "Registration code"),
    "qr_hint": (
        "QRコードには受付番号だけが入っています。",
        "QRコードには うけつけ ばんごう だけが はいって います。",
        "The QR code holds only the registration code.",
    ),
    "support": (
        "お問い合わせ：{phone}（{hours}）",
        "といあわせ：{phone}（{hours}）",
        "Questions: {phone} ({hours})",
    ),
    "finish": ("終了する", "おわる", "Finish"),
    "ok": ("OK", "OK", "OK"),
    "retry": ("もう一度カードを置く", "もう いちど", "Try again"),
    "error_title": ("⚠ 手続きを続けられません", "⚠ うまく いきませんでした", "⚠ Something went wrong"),
    "take_card_title": ("カードをお取りください", "カードを とって ください", "Please take your card"),
    "alarm": (
        "⚠ カードが残っています！",
        "⚠ カードが のこって います！",
        "⚠ Your card is still on the reader!",
    ),
    "warning_title": ("⚠ まだ続けますか？", "⚠ まだ つづけますか？", "⚠ Do you need more time?"),
    "extend": ("延長", "えんちょう", "More time"),
    "end_now": ("終了する", "おわる", "End now"),
    "training": (
        "練習モード（仮想カード）",
        "れんしゅう（カードは ほんもの では ありません）",
        "Training mode (virtual card)",
    ),
    "training_insert": ("カードを置く", "カードを おく", "Place card"),
    "training_remove": ("カードを取る", "カードを とる", "Take card"),
}

_COLUMN: Final = {"ja": 0, "ja-easy": 1}


def ui_text(key: str, language: str, **values: object) -> str:
    """The label ``key`` in ``language`` (anything but ja / ja-easy → English), formatted."""
    text = _TEXTS[key][_COLUMN.get(language, 2)]
    return text.format(**values) if values else text


def message(text: Localized, language: str) -> str:
    """A flow message or programme text (``Localized``) in ``language`` (ja-easy aware)."""
    return localize(text, language)


def display_language(language: str) -> str:
    """The screen language for a profile language: ja, ja-easy, or en as the fallback."""
    return language if language in _COLUMN else "en"
