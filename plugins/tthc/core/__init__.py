"""Shared foundations with no knowledge of any stage: configuration, run windows, text, HTTP,
rendering, labels, sanitising, files."""
