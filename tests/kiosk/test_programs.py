"""Programme files: the four shipped programmes carry the documented rules; errors name file/key/reason."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kiosk.errors import ProgramError
from kiosk.rules.programs import AwardKind, Municipality, load_program, load_programs

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = ROOT / "config" / "programs"


@pytest.fixture(scope="module")
def programs():  # type: ignore[no-untyped-def]
    return load_programs(PROGRAMS)


def test_shipped_programmes(programs) -> None:  # type: ignore[no-untyped-def]
    assert set(programs) == {
        "miyagi-point-2024-lottery",
        "miyagi-point-2025-second",
        "utsunomiya-topup",
        "demo",
    }

    lottery = programs["miyagi-point-2024-lottery"]
    assert (lottery.period.start, lottery.period.end) == (date(2024, 11, 18), date(2025, 1, 25))
    assert lottery.award.kind is AwardKind.LOTTERY
    assert (lottery.award.quota, lottery.award.draw_date, lottery.award.points) == (
        200_000,
        date(2025, 1, 31),
        3000,
    )
    assert lottery.award.everyone_wins_below_quota
    assert lottery.residency.prefectures == ("宮城県",)

    second = programs["miyagi-point-2025-second"]
    assert (second.period.start, second.period.end) == (date(2025, 2, 3), date(2025, 2, 20))
    assert second.residency.prefectures == ("宮城県",)
    assert second.required_services == {"point", "disaster"}
    assert second.award.kind is AwardKind.ALL_ELIGIBLE
    assert second.award.points == 3000
    assert second.exclusions.recipients_of == ("miyagi-point-2024-lottery",)
    assert second.support_phone == "0120-110-009"

    topup = programs["utsunomiya-topup"]
    assert topup.residency.municipalities == (Municipality("栃木県", "宇都宮市"),)
    assert topup.award.points == 1000
    assert topup.one_grant_per_person
    assert (topup.period.start, topup.period.end) == (date(2020, 9, 1), date(2021, 3, 31))

    demo = programs["demo"]
    assert demo.period is None
    assert demo.residency.unrestricted
    assert demo.award.kind is AwardKind.NONE


def test_every_service_has_versioned_terms_in_both_languages(programs) -> None:  # type: ignore[no-untyped-def]
    for program in programs.values():
        for terms in program.services:
            assert terms.terms_version
            assert terms.terms.ja
            assert terms.terms.en
            assert program.terms_for(terms.service) is terms


BASE = """
id = "{stem}"
support_phone = "0120-110-009"
name = {{ ja = "テスト", en = "Test" }}
issuer = {{ ja = "県", en = "Prefecture" }}
[residency]
prefectures = ["宮城県"]
[award]
kind = "all_eligible"
points = 100
[[services]]
service = "point"
required = true
terms_version = "1"
name = {{ ja = "ポイント", en = "Points" }}
terms = {{ ja = "規約", en = "Terms" }}
"""


@pytest.mark.parametrize(
    ("edit", "key", "reason"),
    [
        (lambda t: t.replace('id = "p"', 'id = "other"'), "id", "file name"),
        (lambda t: t.replace('"宮城県"', '"宮城"'), "residency.prefectures[0]", "47 prefectures"),
        (
            lambda t: t.replace('prefectures = ["宮城県"]', 'municipalities = ["宇都宮市"]'),
            "residency.municipalities[0]",
            "prefecture + municipality",
        ),
        (lambda t: t.replace('service = "point"', 'service = "shopping"'), "services[0].service", "one of"),
        (lambda t: t.replace('terms_version = "1"\n', ""), "services[0].terms_version", "missing"),
        (lambda t: t.replace('kind = "all_eligible"', 'kind = "lottery"'), "award", "quota"),
        (lambda t: t.replace("points = 100", "points = -1"), "award.points", "between"),
        (lambda t: t.replace('en = "Test"', 'en = ""'), "name.en", "non-empty"),
        (lambda t: t + "\n[period]\nstart = 2025-02-20\nend = 2025-02-03\n", "period.end", "before"),
        (lambda t: t + '\n[period]\nstart = "2025-02-03"\nend = 2025-02-20\n', "period.start", "TOML date"),
        (lambda t: t + "\n[age]\nmin = 20\nmax = 18\n", "age.max", "below"),
        (
            lambda t: t + '\n[exclusions]\nhash_lists = ["missing.txt"]\n',
            "exclusions.hash_lists[0]",
            "cannot read",
        ),
        (
            lambda t: t.replace('support_phone = "0120-110-009"', 'support_phone = "call us"'),
            "support_phone",
            "phone",
        ),
        (
            lambda t: t.replace('support_phone = "0120-110-009"', 'support_phone = "0120-110-009\\n"'),
            "support_phone",
            "phone",
        ),
        (lambda t: "colour = 1\n" + t, "colour", "unknown key"),
    ],
)
def test_errors_name_file_key_and_reason(tmp_path: Path, edit, key: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "p.toml"
    path.write_text(edit(BASE.format(stem="p")), encoding="utf-8")
    with pytest.raises(ProgramError) as info:
        load_program(path)
    assert info.value.path == path
    assert info.value.key == key
    assert reason in info.value.reason


def test_base_is_valid_and_municipality_spellings(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        BASE.format(stem="p").replace(
            'prefectures = ["宮城県"]', 'municipalities = ["宮城県仙台市青葉区", "宮城県宮城郡松島町"]'
        ),
        encoding="utf-8",
    )
    program = load_program(path)
    assert program.residency.municipalities == (
        Municipality("宮城県", "仙台市青葉区"),
        Municipality("宮城県", "宮城郡松島町"),
    )


def test_hash_lists_refuse_plain_text(tmp_path: Path) -> None:
    (tmp_path / "ex.txt").write_text("宮城花子\n", encoding="utf-8")
    path = tmp_path / "p.toml"
    path.write_text(BASE.format(stem="p") + '\n[exclusions]\nhash_lists = ["ex.txt"]\n', encoding="utf-8")
    with pytest.raises(ProgramError, match="keyed hash"):
        load_program(path)
    (tmp_path / "ex.txt").write_text("ab" * 32 + "\n", encoding="ascii")
    assert load_program(path).exclusions.hash_lists == ((tmp_path / "ex.txt").resolve(),)


def test_dangling_exclusion_reference(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(
        BASE.format(stem="p") + '\n[exclusions]\nrecipients_of = ["nope"]\n', encoding="utf-8"
    )
    with pytest.raises(ProgramError) as info:
        load_programs(tmp_path)
    assert info.value.key == "exclusions.recipients_of"


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ProgramError, match="not found"):
        load_programs(tmp_path / "none")
