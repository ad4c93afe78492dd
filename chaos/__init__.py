"""The chaos campaign (issue 12): `python -m chaos` runs every experiment and prints a table."""
