"""Compare ingested decisions with the province catalogue and flag what must be announced."""
