"""The I/O shell around the pure core: the loop thread, the listener, the worker table."""
