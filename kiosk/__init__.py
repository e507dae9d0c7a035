"""The kiosk domain: flow state machine, programmes, registration record, settings and the CLI.

Never imports Qt: the same flow runs under the Qt UI, the terminal front-end and tests.
"""
