"""The PySide6 window: widgets, dialogs, and the one worker helper that runs long work."""
