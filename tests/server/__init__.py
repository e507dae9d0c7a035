"""Tests of the reference central server (sync/server)."""
