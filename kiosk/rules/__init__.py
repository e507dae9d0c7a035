"""The rules the kiosk and the server share: programmes, eligibility, addresses, the signed record,
the shelter records and the wire rules (canonical JSON, strict base64, identifiers).

This package is the one place both sides read a rule from, so the kiosk and the server cannot drift
apart. It imports only the standard library, cryptography, and the two leaf vocabularies
``kiosk.errors`` and ``kiosk.i18n`` — never the kiosk application (flow, runner, settings, ports),
never ``sync`` and never ``ui`` (enforced by ``tests/test_import_rules.py``).
"""
