"""What the Airflow plugin registers: the app at ``/kstthc`` and its entry in the Airflow UI's navigation.

The navigation entry shows the page inside the Airflow UI (``url_route``: ``/plugin/kstthc``, in a frame);
its ``href`` is relative (no leading slash), so it follows ``[api] base_url``'s path behind a proxy.
"""

from __future__ import annotations

from tthc.core.links import KSTTHC_PREFIX
from tthc.ui.app import create_app

NAME = "KSTTHC"

FASTAPI_APP = {"app": create_app(), "url_prefix": KSTTHC_PREFIX, "name": NAME}
EXTERNAL_VIEW = {"name": NAME, "href": KSTTHC_PREFIX.lstrip("/") + "/", "destination": "nav",
                 "url_route": "kstthc", "nav_top_level": True}
