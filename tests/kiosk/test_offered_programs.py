"""``[kiosk] offered_programs``: validation naming file/key/reason, the offered subset of the loaded
programmes, and a flow built from that subset refusing a programme the profile does not offer."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.errors import SettingsError, UnknownProgramError
from kiosk.flow import Flow, FlowSettings, LanguageChosen, Phase, ProgramChosen, Start
from kiosk.rules.programs import load_programs
from kiosk.settings import KioskSettings, load_settings, offered_subset

from .flowkit import NOW, run

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS_DIR = ROOT / "config" / "programs"
PROGRAMS = load_programs(PROGRAMS_DIR)
LOTTERY = "miyagi-point-2024-lottery"
SECOND = "miyagi-point-2025-second"
KEY = "kiosk.offered_programs"

PROFILE = """
[kiosk]
id = "k-1"
mode = "staff"
data_dir = "var"
language = "ja"
program = "{program}"
programs_dir = "{programs_dir}"
{extra}
[server]
url = "https://example.test/"
"""


def _load(tmp_path: Path, extra: str = "", program: str = SECOND) -> KioskSettings:
    path = tmp_path / "kiosk.toml"
    path.write_text(PROFILE.format(program=program, programs_dir=PROGRAMS_DIR, extra=extra), encoding="utf-8")
    return load_settings(path)


def _flow(settings: KioskSettings) -> Flow:
    flow_settings = FlowSettings(settings.mode, settings.language, settings.program, settings.timeouts)
    return Flow(flow_settings, offered_subset(settings, PROGRAMS), clock=lambda: NOW)


def test_absent_means_only_the_default(tmp_path: Path) -> None:
    settings = _load(tmp_path)
    assert settings.offered_programs == (SECOND,)
    assert list(offered_subset(settings, PROGRAMS)) == [SECOND]


def test_a_good_list_keeps_the_profile_order(tmp_path: Path) -> None:
    settings = _load(tmp_path, f'offered_programs = ["{LOTTERY}", "{SECOND}"]')
    assert settings.program == SECOND
    assert settings.offered_programs == (LOTTERY, SECOND)
    subset = offered_subset(settings, PROGRAMS)
    assert list(subset) == [LOTTERY, SECOND]
    assert subset[LOTTERY] is PROGRAMS[LOTTERY]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (f'["{SECOND}", "{LOTTERY}", "{SECOND}"]', "more than once"),
        (f'["{LOTTERY}"]', "must include the default programme"),
        ("[]", "non-empty list"),
        (f'"{SECOND}"', "non-empty list"),
        ("42", "non-empty list"),
        (f'["{SECOND}", 7]', "non-empty string"),
        (f'["{SECOND}", " "]', "non-empty string"),
    ],
)
def test_bad_lists_name_file_key_and_reason(tmp_path: Path, value: str, reason: str) -> None:
    with pytest.raises(SettingsError) as info:
        _load(tmp_path, f"offered_programs = {value}")
    assert info.value.key == KEY
    assert info.value.path == (tmp_path / "kiosk.toml").resolve()
    assert reason in info.value.reason


def test_an_unknown_offered_id_is_a_settings_error(tmp_path: Path) -> None:
    settings = _load(tmp_path, f'offered_programs = ["{SECOND}", "nope-2099"]')
    with pytest.raises(SettingsError) as info:
        offered_subset(settings, PROGRAMS)
    assert info.value.key == KEY
    assert info.value.path == settings.path
    assert "'nope-2099'" in info.value.reason
    assert SECOND in info.value.reason  # the loaded ids, to fix the typo


def test_an_unknown_default_is_still_the_flows_error(tmp_path: Path) -> None:
    """One check per fact: the default programme keeps its existing check in the flow."""
    settings = _load(tmp_path, program="nope-2099")
    assert offered_subset(settings, PROGRAMS) == {}
    with pytest.raises(UnknownProgramError):
        _flow(settings)


def test_the_flow_switches_only_to_an_offered_programme(tmp_path: Path) -> None:
    settings = _load(tmp_path, f'offered_programs = ["{SECOND}", "demo"]')
    flow = _flow(settings)
    state, _ = run(flow, flow.initial(), Start(), LanguageChosen("ja"))
    assert state.phase is Phase.PROGRAM
    assert state.program_id == SECOND

    refused, effects = run(flow, state, ProgramChosen(LOTTERY))  # loaded, but not offered here
    assert refused == state
    assert effects == []
    assert LOTTERY in PROGRAMS  # so the refusal is the profile's doing, not a missing file

    chosen, _ = run(flow, state, ProgramChosen("demo"))
    assert chosen.program_id == "demo"
    assert chosen.phase is Phase.PROGRAM


def test_a_fresh_session_starts_on_the_default_again(tmp_path: Path) -> None:
    settings = _load(tmp_path, f'offered_programs = ["{SECOND}", "demo"]')
    flow = _flow(settings)
    state, _ = run(flow, flow.initial(), Start(), LanguageChosen("ja"), ProgramChosen("demo"))
    assert state.program_id == "demo"
    assert flow.fresh(state, Phase.IDLE).program_id == SECOND
