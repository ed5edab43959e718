"""Sync: publish announced procedures to the public channels, exactly once (see ``publish``)."""
