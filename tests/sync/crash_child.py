"""Child process of the SIGKILL crash test: enqueue sealed records forever, logging each one that
returned; now and then claim a batch (rows go SENDING) so kills also land mid-upload.

Usage: python crash_child.py DATA_DIR LOG_FILE
Each line of LOG_FILE is a record id whose ``enqueue`` returned (written with one O_APPEND write
after the return, so a line exists only for a committed record).
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

from sync.device_keys import DeviceStore
from sync.outbox import OUTBOX_FILE, Outbox


def main() -> None:
    data_dir, log_path = Path(sys.argv[1]), sys.argv[2]
    box = Outbox.open(data_dir / OUTBOX_FILE, sealer=DeviceStore(data_dir).sealer("crash-kiosk"))
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.write(1, b"ready\n")
    n = 0
    payload = b'{"record":"' + b"x" * 2000 + b'"}'
    while True:
        rid = str(uuid.uuid4())
        box.enqueue(payload, record_id=rid, program_id="demo")
        os.write(log, rid.encode() + b"\n")
        n += 1
        if n % 25 == 0:
            box.claim(max_records=10)


if __name__ == "__main__":
    main()
