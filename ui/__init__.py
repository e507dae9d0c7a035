"""Qt (PySide6) widgets only: screens render the flow's state and send the resident's intents."""
