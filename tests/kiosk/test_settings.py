"""The kiosk profile: defaults, relative paths, resolution order and errors naming file/key/reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.errors import SettingsError
from kiosk.settings import (
    DEFAULT_PARALLEL_UPLOADS,
    DEFAULT_TIMEOUTS,
    DEMO_CONFIG,
    KioskMode,
    default_config_path,
    load_settings,
    resolve_config_path,
)

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
[kiosk]
id = "k-1"
mode = "{mode}"
data_dir = "var"
language = "ja"
program = "demo"
programs_dir = "programs"
{extra}
[server]
url = "https://example.test/"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_demo_and_example_profiles_load() -> None:
    demo = load_settings(DEMO_CONFIG)
    assert demo.kiosk_id == "demo-kiosk-001"
    assert demo.programs_dir == (ROOT / "config" / "programs").resolve()
    example = load_settings(ROOT / "config" / "kiosk.example.toml")
    assert example.mode is KioskMode.SELF
    assert example.timeouts.warning_s >= 20


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD.format(mode="staff", extra="")))
    assert settings.data_dir == (tmp_path / "var").resolve()
    assert settings.programs_dir == (tmp_path / "programs").resolve()
    assert settings.path == (tmp_path / "kiosk.toml").resolve()
    assert settings.server.url == "https://example.test"


@pytest.mark.parametrize("mode", list(KioskMode))
def test_timeouts_default_by_mode(tmp_path: Path, mode: KioskMode) -> None:
    settings = load_settings(_write(tmp_path, GOOD.format(mode=mode.value, extra="")))
    assert settings.timeouts == DEFAULT_TIMEOUTS[mode]
    assert DEFAULT_TIMEOUTS[KioskMode.SELF].inactivity_s < DEFAULT_TIMEOUTS[KioskMode.STAFF].inactivity_s


def test_parallel_uploads_default_and_override(tmp_path: Path) -> None:
    default = load_settings(_write(tmp_path, GOOD.format(mode="self", extra="")))
    assert default.server.parallel_uploads == DEFAULT_PARALLEL_UPLOADS
    one = load_settings(_write(tmp_path, GOOD.format(mode="self", extra="") + "parallel_uploads = 1\n"))
    assert one.server.parallel_uploads == 1


def test_timeouts_override(tmp_path: Path) -> None:
    extra = "[kiosk.timeouts]\ninactivity_s = 45\nwarning_s = 25\n"
    settings = load_settings(_write(tmp_path, GOOD.format(mode="self", extra=extra)))
    assert settings.timeouts.inactivity_s == 45
    assert settings.timeouts.warning_s == 25
    assert settings.timeouts.max_extensions == DEFAULT_TIMEOUTS[KioskMode.SELF].max_extensions


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        (GOOD.format(mode="kiosk", extra=""), "kiosk.mode", "staff"),
        (GOOD.format(mode="self", extra="").replace('id = "k-1"', 'id = "k 1"'), "kiosk.id", "ASCII"),
        (
            GOOD.format(mode="self", extra="").replace('language = "ja"', 'language = "xx"'),
            "kiosk.language",
            "one of",
        ),
        (GOOD.format(mode="self", extra="").replace('program = "demo"\n', ""), "kiosk.program", "missing"),
        (GOOD.format(mode="self", extra="color = 1"), "kiosk.color", "unknown key"),
        (
            GOOD.format(mode="self", extra="[kiosk.timeouts]\nwarning_s = 10"),
            "kiosk.timeouts.warning_s",
            "20",
        ),
        (
            GOOD.format(mode="self", extra="[kiosk.timeouts]\ninactivity_s = true"),
            "kiosk.timeouts.inactivity_s",
            "integer",
        ),
        (GOOD.format(mode="self", extra="").replace("https://", "ftp://"), "server.url", "https"),
        (GOOD.format(mode="self", extra="").split("[server]")[0], "server", "missing section"),
        (GOOD.format(mode="self", extra="") + "parallel_uploads = 0\n", "server.parallel_uploads", "1 to 8"),
        (GOOD.format(mode="self", extra="") + "parallel_uploads = 9\n", "server.parallel_uploads", "1 to 8"),
        (
            GOOD.format(mode="self", extra="") + "parallel_uploads = true\n",
            "server.parallel_uploads",
            "integer",
        ),
        (
            GOOD.format(mode="self", extra="") + 'parallel_uploads = "2"\n',
            "server.parallel_uploads",
            "integer",
        ),
        ("[kiosk\n", "", "TOML"),
    ],
)
def test_errors_name_file_key_and_reason(tmp_path: Path, text: str, key: str, reason: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    assert info.value.path == path.resolve()
    assert info.value.key == key
    assert reason in info.value.reason
    assert str(path.resolve()) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="file not found"):
        load_settings(tmp_path / "nope.toml")


def test_default_resolution_prefers_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, GOOD.format(mode="staff", extra=""))
    monkeypatch.setenv("MADOGUCHI_CONFIG", str(path))
    assert default_config_path() == path
    assert load_settings(None).kiosk_id == "k-1"
    monkeypatch.delenv("MADOGUCHI_CONFIG")
    expected = Path("/etc/madoguchi/kiosk.toml")
    assert default_config_path() == (expected if expected.exists() else DEMO_CONFIG)


def test_config_resolution(tmp_path: Path) -> None:
    system = tmp_path / "kiosk.toml"
    assert resolve_config_path("x.toml") == Path("x.toml")
    assert resolve_config_path(environ={"MADOGUCHI_CONFIG": "/a.toml"}, system_config=system) == Path(
        "/a.toml"
    )
    assert resolve_config_path(environ={}, system_config=system) == DEMO_CONFIG
    system.write_text("")
    assert resolve_config_path(environ={}, system_config=system) == system
    assert DEMO_CONFIG.is_file()


def test_other_layers_sections_are_left_to_them(tmp_path: Path) -> None:
    text = GOOD.format(mode="staff", extra="") + "\n[ui]\nfont_scale = 1.5\n"
    assert load_settings(_write(tmp_path, text)).kiosk_id == "k-1"
    with pytest.raises(SettingsError) as info:
        load_settings(_write(tmp_path, "stray = 1\n" + GOOD.format(mode="staff", extra="")))
    assert info.value.key == "stray"


def test_example_trust_section_is_loadable_by_the_card_layer() -> None:
    from card.trust import load_trust_store

    store = load_trust_store(ROOT / "config" / "kiosk.example.toml")
    assert store.jpki_auth_roots == ()
    assert len(store.cvc_ca_keys) == 1


def test_the_entry_hands_card_read_the_kiosk_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``madoguchi card read`` without ``--config`` reads the kiosk's profile, resolved by the kiosk's
    rule: the card layer imports no kiosk, so the entry hands the resolver in."""
    from kiosk.cli import build_parser

    monkeypatch.setenv("MADOGUCHI_CONFIG", str(tmp_path / "k.toml"))
    args = build_parser().parse_args(["card", "read", "--pin-stdin"])
    assert args.config is None
    assert args.default_profile() == tmp_path / "k.toml"
