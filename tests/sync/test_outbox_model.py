"""The outbox against a model: random sequences of enqueue / claim / settle / release / crash-reopen
on a real SQLite file, checked after every step (hypothesis stateful testing, bounded)."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from synctest import KIOSK_ID, enroll_offline

from sync.outbox import OUTBOX_FILE, Outbox, Settlement


class OutboxModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        data = Path(self.tmp.name) / "data"
        self.sealer = enroll_offline(data, X25519PrivateKey.generate()).sealer(KIOSK_ID)
        self.path = data / OUTBOX_FILE
        self.box = Outbox.open(self.path, sealer=self.sealer)
        self.state: dict[str, str] = {}  # record id -> PENDING / SENDING / REJECTED
        self.order: list[str] = []  # enqueue order of ids still in the outbox
        self.counts = {"enqueued": 0, "accepted": 0, "duplicate": 0, "rejected": 0}
        self.last_seq = 0

    def teardown(self) -> None:
        self.box.close()
        self.tmp.cleanup()

    @rule(n=st.integers(1, 4))
    def enqueue(self, n: int) -> None:
        for _ in range(n):
            rid = str(uuid.uuid4())
            receipt = self.box.enqueue(b"{}", record_id=rid, program_id="demo")
            assert receipt.seq > self.last_seq  # strictly increasing, even after deletes
            self.last_seq = receipt.seq
            self.state[rid] = "PENDING"
            self.order.append(rid)
            self.counts["enqueued"] += 1

    @rule(k=st.integers(1, 5))
    def claim(self, k: int) -> None:
        got = [c.record_id for c in self.box.claim(max_records=k, ignore_schedule=True)]
        expected = [r for r in self.order if self.state[r] == "PENDING"][:k]
        assert got == expected  # oldest first
        for rid in got:
            self.state[rid] = "SENDING"

    @precondition(lambda self: any(s == "SENDING" for s in self.state.values()))
    @rule(data=st.data())
    def settle(self, data: st.DataObject) -> None:
        sending = [r for r in self.order if self.state[r] == "SENDING"]
        outcome = Settlement()
        for rid in sending:
            choice = data.draw(st.sampled_from(["accepted", "duplicate", "rejected", "retry", "none"]))
            if choice == "accepted":
                outcome.accepted.append(rid)
            elif choice == "duplicate":
                outcome.duplicate.append(rid)
            elif choice == "rejected":
                outcome.rejected[rid] = "program_rules"
            elif choice == "retry":
                outcome.retry[rid] = (0.0, "missing_result")
        # a late answer for an id that is gone must change nothing
        outcome.accepted.append(str(uuid.uuid4()))
        self.box.settle(outcome)
        for rid in outcome.accepted[:-1] + outcome.duplicate:
            del self.state[rid]
            self.order.remove(rid)
        self.counts["accepted"] += len(outcome.accepted) - 1
        self.counts["duplicate"] += len(outcome.duplicate)
        for rid in outcome.rejected:
            self.state[rid] = "REJECTED"
            self.counts["rejected"] += 1
        for rid in outcome.retry:
            self.state[rid] = "PENDING"

    @rule()
    def crash_and_reopen(self) -> None:
        self.box.close()
        self.box = Outbox.open(self.path, sealer=self.sealer)
        for rid, s in self.state.items():
            if s == "SENDING":
                self.state[rid] = "PENDING"

    @invariant()
    def matches_model(self) -> None:
        assert self.box.record_ids() == self.order
        st_ = self.box.status()
        for name in ("PENDING", "SENDING", "REJECTED"):
            assert st_.counts[name] == sum(1 for s in self.state.values() if s == name), name
        assert dict(st_.today) == self.counts


TestOutboxModel = OutboxModel.TestCase
TestOutboxModel.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
