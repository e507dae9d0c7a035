"""The gettext catalogues: every shipped language complete, nothing fuzzy, placeholders and plural
rules as the source's, compiled files current, and the runtime's fallback chain.

The messages are extracted from the source code here (Babel's own extractor, the keywords of
``scripts/update-catalogues.sh``), so a ``Message`` added without re-running the update script fails
this test too, not only a translation left empty.
"""

from __future__ import annotations

import gettext
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

import kiosk.i18n as i18n
from kiosk.flow import ErrorKind
from kiosk.i18n import LANGUAGE_CODES, LANGUAGES, placeholders
from kiosk.i18n import Message as KioskMessage
from kiosk.messages import error_text, tries_left_text

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"Message": ((1, "c"), 2), "Plural": ((1, "c"), 2, 3)}
#: directory name -> CLDR locale whose plural rule the catalogue must carry (update-catalogues.sh)
LOCALES = {
    "ja": "ja",
    "ja-easy": "ja",
    "en": "en",
    "zh-Hans": "zh_Hans",
    "ko": "ko",
    "vi": "vi",
    "tl": "fil",
    "ne": "ne",
    "pt": "pt_BR",
    "id": "id",
}
PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _source_messages() -> dict[str, str | tuple[str, str]]:
    """(msgctxt -> msgid) of every Message/Plural call in kiosk/ and ui/, as pybabel extracts them."""
    found: dict[str, str | tuple[str, str]] = {}
    method_map = [("kiosk/**.py", "python"), ("ui/**.py", "python")]
    for _file, _line, msgid, _comments, context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=KEYWORDS
    ):
        assert context, f"a Message without its key: {msgid!r}"
        if context in found:
            assert found[context] == msgid, f"key {context!r} has two different sources"
        found[context] = msgid
    return found


SOURCE = _source_messages()


def _catalogue(language: str) -> Catalog:
    with i18n.catalogue_path(language, ".po").open("rb") as file:
        return read_po(file, abort_invalid=True)


def _messages(catalog: Catalog) -> Iterator[Message]:
    return (m for m in catalog if m.id)


def test_the_ten_languages_are_shipped_with_their_own_names() -> None:
    assert dict(LANGUAGES) == {
        "ja": "日本語",
        "ja-easy": "やさしい にほんご",
        "en": "English",
        "zh-Hans": "简体中文",
        "ko": "한국어",
        "vi": "Tiếng Việt",
        "tl": "Tagalog",
        "ne": "नेपाली",
        "pt": "Português",
        "id": "Bahasa Indonesia",
    }
    shipped = {p.parent.parent.name for p in i18n.LOCALE_DIR.glob("*/LC_MESSAGES/madoguchi.po")}
    assert shipped == set(LANGUAGE_CODES)
    from kiosk.settings import SUPPORTED_LANGUAGES

    assert set(SUPPORTED_LANGUAGES) == set(LANGUAGE_CODES)


def test_source_has_messages() -> None:
    # guards the extraction itself: an empty SOURCE would make every test below vacuous
    assert len(SOURCE) > 100
    assert SOURCE["error.pin_incorrect"] == "The PIN is incorrect."
    assert SOURCE["tries_left"] == ("You have {n} try left.", "You have {n} tries left.")


def test_template_is_current() -> None:
    with (i18n.LOCALE_DIR / "madoguchi.pot").open("rb") as file:
        template = {m.context: m.id for m in read_po(file) if m.id}
    assert template == SOURCE, "run scripts/update-catalogues.sh"


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_every_message_is_translated_and_not_fuzzy(language: str) -> None:
    catalog = _catalogue(language)
    translated = {m.context: m for m in _messages(catalog)}
    missing = sorted(set(SOURCE) - set(translated))
    assert not missing, f"{language}: not in the catalogue (run scripts/update-catalogues.sh): {missing}"
    wrong_source = sorted(k for k in SOURCE if translated[k].id != SOURCE[k])
    assert not wrong_source, f"{language}: source changed, run scripts/update-catalogues.sh: {wrong_source}"
    fuzzy = sorted(k for k, m in translated.items() if m.fuzzy)
    assert not fuzzy, f"{language}: fuzzy: {fuzzy}"
    empty = sorted(
        k
        for k, m in translated.items()
        if not (m.string if isinstance(m.string, str) else m.string and all(m.string))
    )
    assert not empty, f"{language}: untranslated: {empty}"
    stale = sorted(set(translated) - set(SOURCE))
    assert not stale, f"{language}: messages no longer in the source: {stale}"


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_placeholders_and_plural_forms_match_the_source(language: str) -> None:
    catalog = _catalogue(language)
    assert catalog.plural_forms == get_plural(LOCALES[language]).plural_forms
    problems = []
    for message in _messages(catalog):
        # Babel's own checkers: number of plural forms, %-style placeholders
        for error in message.check(catalog):
            problems.append(f"{message.context}: {error}")
        sources = (message.id,) if isinstance(message.id, str) else message.id
        strings = (message.string,) if isinstance(message.string, str) else message.string
        wanted = frozenset().union(*(placeholders(s) for s in sources))
        percent = sorted(PERCENT.findall(sources[-1]))
        for text in strings:
            if not text:
                continue  # untranslated: test_every_message_is_translated_and_not_fuzzy says so
            try:
                found = placeholders(text)
            except ValueError as exc:
                problems.append(f"{message.context}: not a valid format string ({exc}): {text!r}")
                continue
            # a plural form may leave out the count ("one try left"), nothing else
            if found != wanted and not (message.pluralizable and found == wanted - {"n"}):
                problems.append(f"{message.context}: placeholders {sorted(found)} != {sorted(wanted)}")
            if sorted(PERCENT.findall(text)) != percent:
                problems.append(f"{message.context}: % placeholders differ: {text!r}")
    assert not problems, f"{language}: " + "; ".join(problems)


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_compiled_catalogue_is_current(language: str) -> None:
    """The .mo the kiosk reads says what the .po says (run scripts/compile-catalogues.sh)."""
    with i18n.catalogue_path(language).open("rb") as file:
        compiled = gettext.GNUTranslations(file)
    for message in _messages(_catalogue(language)):
        if not message.string or not all(message.string) or message.fuzzy:
            continue  # untranslated or fuzzy: not compiled, and reported by the test above
        if isinstance(message.id, str):
            assert compiled.pgettext(message.context, message.id) == message.string, message.context
        else:
            for n in range(0, 12):
                form = catalogue_form(_catalogue_plural(language), n)
                got = compiled.npgettext(message.context, message.id[0], message.id[1], n)
                assert got == message.string[form], (message.context, n)


def _catalogue_plural(language: str) -> str:
    return get_plural(LOCALES[language]).plural_expr


def catalogue_form(expr: str, n: int) -> int:
    """Evaluate a gettext plural expression (C syntax) for ``n``."""
    return int(gettext.c2py(expr)(n))


def test_tools_compile_every_catalogue_cleanly(tmp_path: Path) -> None:
    """The real tool chain: a copy of the locale tree compiles with pybabel, no checker error."""
    copy = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, copy, ignore=shutil.ignore_patterns("*.mo"))
    import subprocess

    for language in LANGUAGE_CODES:
        po = copy / language / "LC_MESSAGES" / "madoguchi.po"
        done = subprocess.run(
            [str(ROOT / ".venv/bin/pybabel"), "compile", "-i", str(po), "-o", str(po.with_suffix(".mo"))],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "error" not in done.stderr.lower(), done.stderr


def test_the_runtime_speaks_each_language() -> None:
    ja = error_text(ErrorKind.PIN_INCORRECT, "ja", tries_left=2)
    assert ja == "暗証番号が違います。暗証番号の残り回数：2回です。"
    en = error_text(ErrorKind.PIN_INCORRECT, "en", tries_left=2)
    assert en == "The PIN is incorrect. You have 2 tries left."
    assert tries_left_text(1, "en") == "You have 1 try left."
    texts = {language: error_text(ErrorKind.PIN_BLOCKED, language) for language in LANGUAGE_CODES}
    assert len(set(texts.values())) == len(LANGUAGE_CODES)  # ten different texts, no silent English
    # an unknown language gets the English source
    assert error_text(ErrorKind.PIN_BLOCKED, "xx") == texts["en"]


def test_fallback_chain_when_a_message_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ja-easy without a message → polite ja; another language → the English source; no .mo → source."""
    for language, text in (("ja", "日本語の文"), ("ja-easy", None), ("vi", None)):
        catalog = Catalog(locale="ja" if language.startswith("ja") else language)
        if text is not None:
            catalog.add("A sentence.", text, context="probe")
        catalog.add("Other.", "ほか" if language.startswith("ja") else "Khác", context="other")
        target = tmp_path / language / "LC_MESSAGES"
        target.mkdir(parents=True)
        from babel.messages.mofile import write_mo

        with (target / "madoguchi.mo").open("wb") as file:
            write_mo(file, catalog)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.reload()
    try:
        probe = KioskMessage("probe", "A sentence.")
        assert probe.get("ja") == "日本語の文"
        assert probe.get("ja-easy") == "日本語の文"
        assert probe.get("vi") == "A sentence."
        assert KioskMessage("other", "Other.").get("vi") == "Khác"
        assert probe.get("ko") == "A sentence."  # no catalogue at all: logged, then the source
    finally:
        i18n.reload()


KANJI = re.compile(r"[\u4e00-\u9fff]")
KANA = re.compile(r"[\u3040-\u30ff]")


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_marks_and_printed_names_are_kept(language: str) -> None:
    """State symbols (colour is never the only cue) and the card-info PIN's Japanese name as printed
    on the resident's PIN form survive translation."""
    problems = []
    for message in _messages(_catalogue(language)):
        source = message.id if isinstance(message.id, str) else message.id[-1]
        strings = (message.string,) if isinstance(message.string, str) else message.string
        for mark in ("✓", "□", "✕", "⚠", "券面事項入力補助用"):
            if mark in source and not all(mark in text for text in strings):
                problems.append(f"{message.context}: {mark}")
    assert not problems, f"{language}: " + ", ".join(problems)


def test_easy_japanese_is_easier_than_polite_japanese() -> None:
    """やさしい日本語: never more kanji than the polite text (a printed name in brackets aside), and
    words spaced apart (分かち書き) in every sentence long enough to need it."""
    polite = {m.context: m for m in _messages(_catalogue("ja"))}
    problems = []
    for message in _messages(_catalogue("ja-easy")):
        easy = message.string if isinstance(message.string, str) else message.string[0]
        ja = polite[message.context].string
        ja = ja if isinstance(ja, str) else ja[0]
        bare = re.sub(r"（[^）]*[\u4e00-\u9fff][^）]*）", "", easy)  # 「（券面事項入力補助用）」 etc.
        if len(KANJI.findall(bare)) > len(KANJI.findall(ja)):
            problems.append(f"{message.context}: more kanji than ja")
        if len(KANA.findall(easy)) >= 14 and " " not in easy:
            problems.append(f"{message.context}: no spaces between phrases")
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_every_language_has_an_installed_font(language: str) -> None:
    """The font each language is drawn with is installed (setup.sh: fonts-noto-cjk, fonts-noto-core):
    without it a screen shows empty boxes and every other test still passes."""
    import subprocess

    from ui.i18n import font_family

    families = {font_family(language)}
    if language == "ne":
        families.add("Noto Sans Devanagari")  # the fallback fontconfig picks for Devanagari
    for family in families:
        found = subprocess.run(["fc-list", f":family={family}", "family"], capture_output=True, text=True)
        assert family in found.stdout, f"{language}: font {family!r} is not installed"


#: A sentence that tells the resident to press a button must name it as the button says it:
#: (message key in the catalogue, button key in ui/i18n.py).
BUTTON_REFERENCES = (
    ("timeout_warning", "extend"),
    ("receipt.confirm_finish", "finish"),
    ("voice.consent", "agree"),
    ("voice.program", "next"),
    ("voice.eligible", "register"),
)


@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_sentences_name_buttons_as_the_buttons_say(language: str) -> None:
    from ui.i18n import ui_text

    texts = {m.context: m for m in _messages(_catalogue(language))}
    problems = []
    for key, button in BUTTON_REFERENCES:
        if key not in texts:
            continue  # not in this build's sources (checked by the completeness test)
        message = texts[key]
        text = message.string if isinstance(message.string, str) else message.string[-1]
        label = ui_text(button, language)
        if label not in text:
            problems.append(f"{key} does not name the button {label!r}")
    assert not problems, f"{language}: " + "; ".join(problems)
