"""A faithful virtual My Number Card (card OS simulation) for tests, training and the demo.

Never installed on a production kiosk's trust path: its key material is marked test-only.
"""
