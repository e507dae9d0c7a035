"""Resident-facing texts of the flow, in polite Japanese (です・ます) and English.

Front-ends (Qt, terminal) render these for the flow's phases and errors so every front-end says the
same thing; やさしい日本語 (``ja-easy``) variants are in :data:`EASY_JAPANESE` (:func:`localize`); other
languages fall back to English until translations land. No text quotes the
resident's data, and none asks for a PIN or My Number outside the PIN pad.
"""

from __future__ import annotations

from typing import Final

from kiosk.eligibility import FINAL_NOTICE
from kiosk.flow import ErrorKind
from kiosk.programs import Localized

ERRORS: Final[dict[ErrorKind, Localized]] = {
    ErrorKind.CARD_REMOVED: Localized(
        "カードが読み取り機から離れました。もう一度カードを置いてください。",
        "The card left the reader. Please place it on the reader again.",
    ),
    ErrorKind.READER_LOST: Localized(
        "カード読み取り機に接続できません。係員をお呼びください。",
        "The card reader is not connected. Please call a staff member.",
    ),
    ErrorKind.PCSC_DOWN: Localized(
        "カード読み取りの機能が一時的に使えません。しばらくしてからもう一度お試しください。",
        "Card reading is temporarily unavailable. Please try again in a moment.",
    ),
    ErrorKind.NOT_MY_NUMBER_CARD: Localized(
        "このカードはマイナンバーカードではありません。マイナンバーカードを置いてください。",
        "This is not a My Number Card. Please place your My Number Card on the reader.",
    ),
    ErrorKind.CARD_READ_FAILED: Localized(
        "カードを正しく読み取れませんでした。カードを置き直してください。",
        "The card could not be read correctly. Please place it on the reader again.",
    ),
    ErrorKind.PIN_INCORRECT: Localized(
        "暗証番号が違います。",
        "The PIN is incorrect.",
    ),
    ErrorKind.PIN_LAST_TRY: Localized(
        "暗証番号の残り回数はあと1回です。間違えるとロックされ、お住まいの市区町村の窓口でしか解除できません。"
        "入力を続けますか。",
        "You have 1 try left. If the PIN is wrong, it will be locked and only your municipal office can "
        "unlock it. Do you want to continue?",
    ),
    ErrorKind.PIN_BLOCKED: Localized(
        "暗証番号がロックされています。お住まいの市区町村の窓口で解除の手続きをしてください。",
        "The PIN is locked. Please ask your municipal office to unlock it.",
    ),
    ErrorKind.CERTIFICATE_EXPIRED: Localized(
        "カードの利用者証明用電子証明書の有効期限が切れています。市区町村の窓口で更新してください。",
        "The card's authentication certificate has expired. Please renew it at your municipal office.",
    ),
    ErrorKind.VERIFICATION_FAILED: Localized(
        "カードの確認ができませんでした。係員にお尋ねください。",
        "The card could not be verified. Please ask a staff member.",
    ),
    ErrorKind.NOT_ELIGIBLE: Localized(
        "この端末での確認では、対象の条件を満たしていません。",
        "According to the kiosk's check, you do not meet the conditions.",
    ),
    ErrorKind.IDENTITY_REJECTED: Localized(
        "登録は行っていません。内容が違う場合は、市区町村の窓口にご相談ください。",
        "Nothing was registered. If the details are wrong, please contact your municipal office.",
    ),
    ErrorKind.SAVE_FAILED: Localized(
        "登録を保存できませんでした。登録は完了していません。係員にお尋ねください。",
        "The registration could not be saved and is not complete. Please ask a staff member.",
    ),
}

TRIES_LEFT: Final = Localized("暗証番号の残り回数：{n}回です。", "Tries left: {n}.")

QUEUED: Final = Localized(
    "受け付けました。登録内容は送信待ちです。送信後に事務局が最終的な判定を行います。",
    "Accepted. Your registration is queued and will be sent; the programme office then decides.",
)

ANTI_FRAUD: Final = Localized(
    "県・市町村や事務局が、電話などで暗証番号・マイナンバー・口座情報を伺うことは絶対にありません。",
    "The prefecture, municipalities and the programme office will never ask for your PIN, "
    "My Number or bank details by phone or otherwise.",
)

TAKE_CARD: Final = Localized(
    "カードをお取りください。お取り忘れにご注意ください。",
    "Please take your card. Do not leave it behind.",
)

TIMEOUT_WARNING: Final = Localized(
    "操作がありません。続ける場合は{s}秒以内に「延長」を押してください。押さない場合は入力内容を消去します。",
    "No activity. Press 'More time' within {s} seconds to continue, or everything you entered is erased.",
)

REINSERT: Final = Localized(
    "登録を完了するには、もう一度カードを置いて暗証番号を入力してください。",
    "To finish, please place your card again and enter your PIN again.",
)

#: PIN screen (PIN_ENTRY): which PIN, and the "same / different" choice (default "same").
AUTH_PIN_PROMPT: Final = Localized(
    "利用者証明用電子証明書の暗証番号（数字4桁）を入力してください。",
    "Please enter the PIN of your user-authentication certificate (4 digits).",
)
SAME_PIN_CHOICE: Final = Localized(
    "券面事項入力補助用の暗証番号も同じ番号です",
    "My card-info PIN is the same number",
)
DIFFERENT_PIN_CHOICE: Final = Localized(
    "券面事項入力補助用の暗証番号は別の番号です",
    "My card-info PIN is a different number",
)
#: Card-info PIN screen (CARD_INFO_PIN_ENTRY).
CARD_INFO_PIN_PROMPT: Final = Localized(
    "券面事項入力補助用の暗証番号（数字4桁）を入力してください。",
    "Please enter your card-info PIN (券面事項入力補助用, 4 digits).",
)
#: Shown on the card-info PIN screen after the card-info application refused "the same" PIN.
CARD_INFO_PIN_REFUSED: Final = Localized(
    "券面事項入力補助用の暗証番号が違います。利用者証明用の暗証番号はまだ使っていません。",
    "The card-info PIN was not accepted. Your authentication PIN has not been tried.",
)


#: やさしい日本語 (easy Japanese, language code ``ja-easy``): short sentences, words spaced apart,
#: hiragana for hard kanji (出入国在留管理庁・文化庁「在留支援のためのやさしい日本語ガイドライン」).
#: Keyed by the message itself; a message without an entry falls back to the polite Japanese.
EASY_JAPANESE: Final[dict[Localized, str]] = {
    ERRORS[ErrorKind.CARD_REMOVED]: "カードが はなれました。もう いちど、カードを おいて ください。",
    ERRORS[ErrorKind.READER_LOST]: "カードを よむ きかいが つかえません。かかりの ひとを よんで ください。",
    ERRORS[ErrorKind.PCSC_DOWN]: (
        "いま、カードを よむ ことが できません。すこし まって、もう いちど やって ください。"
    ),
    ERRORS[ErrorKind.NOT_MY_NUMBER_CARD]: (
        "この カードは マイナンバーカードでは ありません。マイナンバーカードを おいて ください。"
    ),
    ERRORS[ErrorKind.CARD_READ_FAILED]: (
        "カードを よむ ことが できませんでした。カードを もう いちど おいて ください。"
    ),
    ERRORS[ErrorKind.PIN_INCORRECT]: "あんしょうばんごうが ちがいます。",
    ERRORS[ErrorKind.PIN_LAST_TRY]: (
        "あんしょうばんごうは、あと 1かい だけ いれる ことが できます。まちがえると、ロックされます。"
        "ロックを なおす ことは、しやくしょ・やくばで しか できません。つづけますか。"
    ),
    ERRORS[ErrorKind.PIN_BLOCKED]: (
        "あんしょうばんごうが ロックされて います。しやくしょ・やくばの まどぐちで なおして ください。"
    ),
    ERRORS[ErrorKind.CERTIFICATE_EXPIRED]: (
        "カードの でんし しょうめいしょの きげんが おわって います。"
        "しやくしょ・やくばで あたらしく して ください。"
    ),
    ERRORS[ErrorKind.VERIFICATION_FAILED]: (
        "カードを たしかめる ことが できませんでした。かかりの ひとに きいて ください。"
    ),
    ERRORS[ErrorKind.NOT_ELIGIBLE]: "この きかいで しらべました。あなたは じょうけんに あいません。",
    ERRORS[ErrorKind.IDENTITY_REJECTED]: (
        "とうろくは して いません。ないようが ちがう ときは、しやくしょ・やくばに そうだん して ください。"
    ),
    ERRORS[ErrorKind.SAVE_FAILED]: (
        "とうろくを ほぞん できませんでした。とうろくは おわって いません。かかりの ひとに きいて ください。"
    ),
    TRIES_LEFT: "あんしょうばんごうを いれる ことが できるのは、あと {n}かい です。",
    QUEUED: "うけつけました。とうろくの ないようは、あとで おくります。さいごに きめるのは じむきょく です。",
    ANTI_FRAUD: (
        "けん・しちょうそん・じむきょくが、でんわなどで "
        "あんしょうばんごう・マイナンバー・ぎんこうの こうざを きく ことは ぜったいに ありません。"
    ),
    TAKE_CARD: "カードを とって ください。わすれないで ください。",
    TIMEOUT_WARNING: (
        "そうさが ありません。つづける ときは、{s}びょう いないに「えんちょう」を おして ください。"
        "おさない ときは、いれた ないようを けします。"
    ),
    REINSERT: (
        "とうろくを おわらせる ために、もう いちど カードを おいて、あんしょうばんごうを いれて ください。"
    ),
    AUTH_PIN_PROMPT: (
        "りようしゃ しょうめいよう でんし しょうめいしょの あんしょうばんごう（すうじ 4けた）を "
        "いれて ください。"
    ),
    SAME_PIN_CHOICE: ("けんめん じこう にゅうりょく ほじょようの あんしょうばんごうも おなじ ばんごう です"),
    DIFFERENT_PIN_CHOICE: (
        "けんめん じこう にゅうりょく ほじょようの あんしょうばんごうは ちがう ばんごう です"
    ),
    CARD_INFO_PIN_PROMPT: (
        "けんめん じこう にゅうりょく ほじょようの あんしょうばんごう（すうじ 4けた）を いれて ください。"
    ),
    FINAL_NOTICE: (
        "これは この きかいで しらべた けっか です。さいごに きめるのは じむきょくの サーバー です。"
        "けっかが かわる ことも あります。"
    ),
    CARD_INFO_PIN_REFUSED: (
        "けんめん じこう にゅうりょく ほじょようの あんしょうばんごうが ちがいます。"
        "りようしゃ しょうめいようの あんしょうばんごうは まだ つかって いません。"
    ),
}


def localize(message: Localized, language: str) -> str:
    """``message`` in ``language``: ``ja-easy`` uses :data:`EASY_JAPANESE` when it has the message."""
    if language == "ja-easy":
        easy = EASY_JAPANESE.get(message)
        if easy is not None:
            return easy
    return message.get(language)


def error_text(kind: ErrorKind, language: str, *, tries_left: int | None = None) -> str:
    """The text for an error screen (with the tries left when known)."""
    text = localize(ERRORS[kind], language)
    if tries_left is not None and kind in (ErrorKind.PIN_INCORRECT, ErrorKind.PIN_LAST_TRY):
        text += " " + localize(TRIES_LEFT, language).format(n=tries_left)
    return text
