"""Programme texts (config/programs/*.toml): optional per-language tables, the documented fallback
(language → ja for ja-easy → en → ja), the load-time list of gaps, and the shipped programmes
complete in all ten languages."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from kiosk.errors import ProgramError
from kiosk.i18n import LANGUAGE_CODES
from kiosk.rules.programs import Localized, load_program, load_programs, missing_translations

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = load_programs(ROOT / "config" / "programs")
KANJI = re.compile(r"[\u4e00-\u9fff]")

PROGRAMME = """
id = "p"
support_phone = "0120-110-009"
[name]
ja = "テスト"
en = "Test"
zh-Hans = "测试"
ja-easy = "てすと"
[issuer]
ja = "県"
en = "Prefecture"
[residency]
[award]
kind = "none"
points = 0
[[services]]
service = "point"
required = true
terms_version = "1"
name = { ja = "ポイント", en = "Points" }
terms = { ja = "規約", en = "Terms", ko = "약관" }
"""


def _write(tmp_path: Path, text: str) -> Path:
    directory = tmp_path / "programs"
    directory.mkdir(exist_ok=True)
    path = directory / "p.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("program_id", sorted(SHIPPED))
def test_shipped_programmes_are_complete_in_every_language(program_id: str) -> None:
    program = SHIPPED[program_id]
    assert missing_translations(program) == []
    texts = [program.name, program.issuer, program.description]
    texts += [t for s in program.services for t in (s.name, s.terms)]
    for text in texts:
        rendered = {code: text.get(code) for code in LANGUAGE_CODES}
        assert all(rendered.values()), program_id
        # every language has its own text (the brand names may coincide, a sentence may not)
        if text in (program.description, *(s.terms for s in program.services)):
            assert len(set(rendered.values())) == len(LANGUAGE_CODES), (program_id, rendered)


def test_shipped_easy_japanese_has_fewer_kanji() -> None:
    for program in SHIPPED.values():
        for text in (program.description, *(s.terms for s in program.services)):
            assert len(KANJI.findall(text.get("ja-easy"))) < len(KANJI.findall(text.get("ja"))), text.ja


def test_fallback_chain(tmp_path: Path) -> None:
    program = load_program(_write(tmp_path, PROGRAMME))
    assert program.name.get("zh-Hans") == "测试"
    assert program.name.get("ja-easy") == "てすと"
    assert program.name.get("ko") == "Test"  # language → en
    assert program.issuer.get("ja-easy") == "県"  # ja-easy → polite ja before English
    assert program.issuer.get("vi") == "Prefecture"
    terms = program.services[0].terms
    assert terms.get("ko") == "약관"
    assert terms.get("ja") == "規約"
    assert terms.languages() == frozenset({"ja", "en", "ko"})
    assert Localized("日本語", "English").get("xx") == "English"


def test_missing_translations_are_listed_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _write(tmp_path, PROGRAMME)
    program = load_program(path)
    missing = missing_translations(program)
    assert ("name", "ko") in missing
    assert ("name", "zh-Hans") not in missing
    assert ("services[0].terms", "ko") not in missing
    assert ("services[0].terms", "ne") in missing
    assert not any(code in ("ja", "en") for _, code in missing)
    # issuer, service name: 8 each; name: 6; terms: 7 (an absent description / support_hours is complete)
    assert len(missing) == 8 + 8 + 6 + 7
    with caplog.at_level(logging.WARNING, logger="kiosk.rules.programs"):
        load_programs(path.parent)
    (record,) = [r for r in caplog.records if r.name == "kiosk.rules.programs"]
    assert "programme p: 29 texts fall back" in record.getMessage()
    assert "name[ko]" in record.getMessage()


def test_complete_programme_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kiosk.rules.programs"):
        load_programs(ROOT / "config" / "programs")
    assert [r for r in caplog.records if r.name == "kiosk.rules.programs"] == []


@pytest.mark.parametrize(
    ("edit", "key", "reason"),
    [
        (lambda t: t.replace('zh-Hans = "测试"', 'fr = "Essai"'), "name.fr", "unknown key"),
        (lambda t: t.replace('zh-Hans = "测试"', 'zh-Hans = ""'), "name.zh-Hans", "non-empty"),
        (lambda t: t.replace('ko = "약관"', "ko = 1"), "services[0].terms.ko", "non-empty"),
    ],
)
def test_bad_language_entries_are_refused(tmp_path: Path, edit, key: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ProgramError) as caught:
        load_program(_write(tmp_path, edit(PROGRAMME)))
    assert caught.value.key == key
    assert reason in str(caught.value)
