"""Sealed records, the SQLite outbox, the sync client and the wire schema."""
