"""The pure core: scheduling decisions with no I/O, threads, clocks or pickling.

The import-rules test (tests/test_architecture.py) keeps it that way.
"""
