"""Stands as the `__main__` file of a pytest-xdist worker (tests/conftest.py): empty, so a
process the tests spawn re-imports nothing when it loads it."""
