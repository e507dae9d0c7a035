"""Translated texts: gettext catalogues (``kiosk/locale``) behind small typed message objects.

Every resident-facing string of the kiosk (screens, flow messages, errors, eligibility reasons, the
terminal ``register`` flow) is a :class:`Message` or :class:`Plural` written in the source code
with a stable *key* (the gettext ``msgctxt``) and its English *source* text (the ``msgid``), e.g.
``Message("pin_ok", "OK")``. ``pybabel extract`` (``scripts/update-catalogues.sh``) collects them
into ``kiosk/locale/madoguchi.pot``; each language has a standard ``.po`` file that translators edit
with the tools they know (Poedit, Weblate, Lokalize); ``scripts/compile-catalogues.sh`` compiles
them to ``.mo``, which is what this module reads, with nothing but the standard library's
:mod:`gettext` (Babel is a build and test tool, never imported by a running kiosk).

Why a key *and* a source: the key keeps call sites stable and lets one English sentence have two
translations (「終了する」 on two different screens); the source is the sentence a translator
actually sees. ``tests/i18n/test_catalogues.py`` fails when a shipped language misses a message,
has a fuzzy one, or changes the ``{name}`` / ``%`` placeholders.

Fallback when a catalogue lacks a message (never in a shipped build; the test sees to that):
``ja-easy`` → polite ``ja`` → the English source; any other language → the English source. A
missing ``.mo`` file is logged once per language (it means the compile step did not run).

Language codes are the profile's (:data:`kiosk.settings.SUPPORTED_LANGUAGES`); the catalogue
directories have the same names (``ja-easy``, ``zh-Hans``).
"""

from __future__ import annotations

import gettext
import logging
import string
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

_log = logging.getLogger(__name__)

#: Where the catalogues live (inside the package, so they ship in the wheel).
LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
DOMAIN: Final = "madoguchi"
#: The language of every ``msgid``.
SOURCE_LANGUAGE: Final = "en"

#: The shipped languages, in the order the picker shows them, with their names in their own script.
#: The names are not translated (a resident looks for their own language's name).
LANGUAGES: Final = (
    ("ja", "日本語"),
    ("ja-easy", "やさしい にほんご"),
    ("en", "English"),
    ("zh-Hans", "简体中文"),
    ("ko", "한국어"),
    ("vi", "Tiếng Việt"),
    ("tl", "Tagalog"),
    ("ne", "नेपाली"),
    ("pt", "Português"),
    ("id", "Bahasa Indonesia"),
)
LANGUAGE_CODES: Final = tuple(code for code, _ in LANGUAGES)

#: A language whose catalogue lacks a message borrows it from here before the English source.
_FALLBACK: Final = {"ja-easy": "ja"}

_lock = threading.Lock()
_loaded: dict[str, gettext.NullTranslations] = {}


@runtime_checkable
class Translatable(Protocol):
    """Anything that can be shown in a screen language (a catalogue message, a programme text)."""

    def get(self, language: str) -> str:
        """The text in ``language``."""
        ...


def catalogue_path(language: str, suffix: str = ".mo") -> Path:
    """The ``.mo`` (or ``.po``) file of ``language``."""
    return LOCALE_DIR / language / "LC_MESSAGES" / (DOMAIN + suffix)


def translations(language: str) -> gettext.NullTranslations:
    """The (cached) gettext translations for ``language``, with the fallback chain attached.

    Unknown languages and the source language get the identity (the English source)."""
    with _lock:
        cached = _loaded.get(language)
        if cached is not None:
            return cached
        result = _load(language)
        _loaded[language] = result
        return result


def _load(language: str) -> gettext.NullTranslations:
    null = gettext.NullTranslations()
    if language not in LANGUAGE_CODES:
        return null
    path = catalogue_path(language)
    try:
        with path.open("rb") as file:
            result: gettext.NullTranslations = gettext.GNUTranslations(file)
    except FileNotFoundError:
        _log.warning("no compiled catalogue for %s (%s): run scripts/compile-catalogues.sh", language, path)
        result = null
    fallback = _FALLBACK.get(language)
    if fallback is not None:
        result.add_fallback(_load(fallback))
    elif result is not null:
        result.add_fallback(null)
    return result


def reload() -> None:
    """Forget the loaded catalogues (after a compile, in tests)."""
    with _lock:
        _loaded.clear()


def placeholders(text: str) -> frozenset[str]:
    """The ``{name}`` fields of a ``str.format`` text (format specs and conversions ignored)."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


@dataclass(frozen=True)
class Message:
    """One catalogue message: ``key`` (msgctxt, stable) and the English ``source`` (msgid).

    ``{name}`` placeholders are filled by :meth:`format`; a value that is itself translatable
    (a :class:`Message`, a programme text) is rendered in the same language.
    """

    key: str
    source: str

    def get(self, language: str) -> str:
        """The translation for ``language`` (unformatted)."""
        return translations(language).pgettext(self.key, self.source)

    def format(self, language: str, **values: object) -> str:
        """The translation for ``language`` with its placeholders filled."""
        return self.get(language).format(**_render(values, language))

    def bind(self, **values: object) -> Text:
        """This message with its values, to be rendered later in whatever language is on screen."""
        return Text(self, tuple(sorted(values.items())))

    @property
    def ja(self) -> str:
        """Polite Japanese."""
        return self.get("ja")

    @property
    def en(self) -> str:
        """English."""
        return self.get("en")


@dataclass(frozen=True)
class Plural:
    """A message whose wording depends on a count ``n`` (gettext ``npgettext``): each language's
    plural rule (``Plural-Forms`` of its ``.po``) chooses the form; ``{n}`` is filled in."""

    key: str
    singular: str
    plural: str

    def get(self, language: str, n: int) -> str:
        """The form for ``n`` in ``language``, unformatted."""
        return translations(language).npgettext(self.key, self.singular, self.plural, n)

    def format(self, language: str, n: int, **values: object) -> str:
        """The form for ``n`` in ``language`` with ``{n}`` and the other placeholders filled."""
        return self.get(language, n).format(n=n, **_render(values, language))


@dataclass(frozen=True)
class Text:
    """A :class:`Message` with its values bound; :meth:`get` renders it in a language."""

    message: Message
    values: tuple[tuple[str, object], ...]

    def get(self, language: str) -> str:
        """The message in ``language`` with its values (translatable values in that language)."""
        return self.message.format(language, **dict(self.values))

    @property
    def ja(self) -> str:
        """Polite Japanese."""
        return self.get("ja")

    @property
    def en(self) -> str:
        """English."""
        return self.get("en")


def _render(values: dict[str, object], language: str) -> dict[str, object]:
    return {
        name: value.get(language)
        if isinstance(value, Translatable) and not isinstance(value, Mapping)
        else value
        for name, value in values.items()
    }
