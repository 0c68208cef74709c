"""``python -m awaken.cli``."""

from awaken.cli import main

main()
