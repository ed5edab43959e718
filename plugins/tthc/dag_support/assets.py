"""Assets that chain the DAGs. Light: DAG files import it.

    PortalWatchTrigger ──PORTAL_DECISIONS (watched in the triggerer)──▶ tthc_ingest (also nightly)
    tthc_ingest ──DECISIONS──▶ tthc_compare ──FLAGS──▶ tthc_approve ──ANNOUNCEMENTS──▶ tthc_sync ──POSTINGS
                                                  └──▶ tthc_report (nightly digest)
    tthc_ingest ──DECISIONS──▶ tthc_verify (publication on the national CSDL, read back)

The report does not wait for the approval (a person may answer hours later): the digest lists what
waits for approval; what sync publishes appears in the next night's digest.
"""

from airflow.sdk import Asset, AssetWatcher

from tthc.dag_support.watch import PortalWatchTrigger, poll_seconds_setting

DECISIONS = Asset("tthc://catalogue/decisions", group="tthc")
FLAGS = Asset("tthc://catalogue/flags", group="tthc")
ANNOUNCEMENTS = Asset("tthc://catalogue/announcements", group="tthc")
POSTINGS = Asset("tthc://channels/postings", group="tthc")


def portal_decisions(poll_seconds: int | None = None) -> Asset | None:
    """The national portal's decision list, watched in the triggerer (:mod:`tthc.dag_support.watch`), or
    None when the watcher is off (``TTHC_WATCH_POLL_SECONDS=0``)."""
    seconds = poll_seconds_setting() if poll_seconds is None else poll_seconds
    if seconds <= 0:
        return None
    return Asset("tthc://national-portal/decisions", group="tthc",
                 watchers=[AssetWatcher(name="national_portal_watch",
                                        trigger=PortalWatchTrigger(poll_seconds=seconds))])
