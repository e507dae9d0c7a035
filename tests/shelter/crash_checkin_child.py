"""Child process of the check-in SIGKILL test: a shelter desk over the real outbox checks people in
forever (printed codes, staff entries, every 7th a PIN-less tap of an in-process virtual card, every
5th with companions), logging each acknowledged record id (one O_APPEND write after the desk
returned: a line exists only for something the screen would have shown as done).

Usage: python crash_checkin_child.py DATA_DIR LOG_FILE
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

from deskkit import make_desk, tap  # noqa: E402

from kiosk.shelter import CheckedIn, CompanionsAdded  # noqa: E402
from kiosk.shelter_card import new_token  # noqa: E402
from sync.device_keys import DeviceStore  # noqa: E402
from sync.outbox import OUTBOX_FILE, Outbox  # noqa: E402


def main() -> None:
    data_dir, log_path = Path(sys.argv[1]), sys.argv[2]
    box = Outbox.open(data_dir / OUTBOX_FILE, sealer=DeviceStore(data_dir).sealer("crash-kiosk"))
    desk = make_desk(data_dir, box, kiosk_id="crash-kiosk")
    personas = ["miyagi-sendai", "miyagi-elderly", "miyagi-long-address", "tochigi-utsunomiya"]
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.write(1, b"ready\n")
    n = int.from_bytes(os.urandom(4), "big")
    while True:
        n += 1
        if n % 7 == 0:
            out = desk.tap_card(tap(personas[n % len(personas)])[1])
        elif n % 2:
            out = desk.scan_code(new_token())
        else:
            out = desk.staff_entry(
                "サイガイ\u3000" + "アイウエオカキクケコ"[n % 10] * (1 + n % 5),
                dt.date(1950, 1, 1) + dt.timedelta(days=n % 20000),
            )
        if isinstance(out, CheckedIn):
            os.write(log, f"A {out.record_id}\n".encode())
            if n % 5 == 0:
                more = desk.add_companions(out, 1 + n % 3)
                if isinstance(more, CompanionsAdded):
                    os.write(log, f"C {more.record_id}\n".encode())


if __name__ == "__main__":
    main()
