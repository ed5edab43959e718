"""Assets that chain the DAGs. Light: DAG files import it.

    tthc_ingest ──DECISIONS──▶ tthc_compare ──FLAGS──▶ tthc_approve ──ANNOUNCEMENTS──▶ tthc_sync ──POSTINGS
                                                  └──▶ tthc_report (nightly digest)
    tthc_ingest ──DECISIONS──▶ tthc_verify (publication on the national CSDL, read back)

The report does not wait for the approval (a person may answer hours later): the digest lists what
waits for approval; what sync publishes appears in the next night's digest.
"""

from airflow.sdk import Asset

DECISIONS = Asset("tthc://catalogue/decisions", group="tthc")
FLAGS = Asset("tthc://catalogue/flags", group="tthc")
ANNOUNCEMENTS = Asset("tthc://catalogue/announcements", group="tthc")
POSTINGS = Asset("tthc://channels/postings", group="tthc")
