"""Everything that speaks APDU to a My Number Card.

No Qt, no HTTP, no SQLite here. Only :mod:`card.pcsc` imports pyscard; everything else talks to a
:class:`card.connection.CardConnection`, so the same code runs on a real reader, on pcscd + vpcd with
the virtual card, and in-process against the virtual card.
"""
