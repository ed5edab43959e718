"""Assets that chain the DAGs: ingest → compare → sync → report. Light: DAG files import it."""

from airflow.sdk import Asset

DECISIONS = Asset("tthc://catalogue/decisions", group="tthc")
FLAGS = Asset("tthc://catalogue/flags", group="tthc")
POSTINGS = Asset("tthc://channels/postings", group="tthc")
