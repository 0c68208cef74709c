"""The Python twin of every ``awaken`` command (re-exported as ``awaken.<name>``)."""
