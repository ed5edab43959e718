"""The ingest stage: ministry decisions and their procedures, incrementally, from each source."""
