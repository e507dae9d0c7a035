"""The kiosk's audio helper: one small child process that plays prompt WAVs with ``paplay``.

    python ui/voice_player.py PAPLAY        # started by ui.voice.VoiceGuide; standard library only

Why a helper and not a ``paplay`` per prompt from the kiosk: forking the ~130 MB kiosk process
costs 1-5 ms of its GUI thread per prompt, four times between the PIN and the receipt (busy,
confirm, busy, receipt) against a 100 ms budget; this process is a few MB, so its forks are
cheap, and the kiosk only writes a line to a pipe. Why not QtMultimedia: docs/ui.md "Voice".

Protocol, one line each way, ``SEQ`` a number the kiosk chooses per prompt:

* in: ``play SEQ VOLUME PATH`` (stops what plays, then plays PATH at VOLUME, 0-65536) and ``stop``;
* out: ``started SEQ`` once paplay runs, then ``finished SEQ`` when it ended by itself or
  ``failed SEQ`` when it could not start or exited with an error. A stopped prompt reports nothing.

The helper ends (and stops the sound) when its standard input closes: the kiosk has exited.
"""

from __future__ import annotations

import subprocess
import sys
import threading


class Player:
    def __init__(self, paplay: str) -> None:
        self.paplay = paplay
        self.lock = threading.Lock()
        self.current: tuple[int, subprocess.Popen[bytes]] | None = None

    def say(self, line: str) -> None:
        with self.lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def stop(self) -> None:
        with self.lock:
            current, self.current = self.current, None
        if current is not None:
            current[1].kill()

    def play(self, seq: int, volume: str, path: str) -> None:
        self.stop()
        try:
            process = subprocess.Popen(
                [self.paplay, f"--volume={volume}", path],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        except OSError:
            self.say(f"failed {seq}")
            return
        with self.lock:
            self.current = (seq, process)
        self.say(f"started {seq}")
        threading.Thread(target=self._wait, args=(seq, process), daemon=True).start()

    def _wait(self, seq: int, process: subprocess.Popen[bytes]) -> None:
        code = process.wait()
        with self.lock:
            stopped = self.current is None or self.current[0] != seq
            if not stopped:
                self.current = None
        if not stopped:
            self.say(f"{'finished' if code == 0 else 'failed'} {seq}")


def main(argv: list[str]) -> int:
    player = Player(argv[1])
    for line in sys.stdin:
        command, _, rest = line.strip().partition(" ")
        if command == "play":
            seq, volume, path = rest.split(" ", 2)
            player.play(int(seq), volume, path)
        elif command == "stop":
            player.stop()
    player.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
