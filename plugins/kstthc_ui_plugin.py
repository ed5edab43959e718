"""Airflow plugin: the KSTTHC page (``tthc.ui``) in the Airflow UI: the app at ``/kstthc`` and a navigation entry.

The one file of ``plugins/`` that Airflow's plugin loader imports (``.airflowignore`` keeps it out of the
``tthc`` package, which is imported as a normal package).
"""

from airflow.plugins_manager import AirflowPlugin
from tthc.ui.plugin import EXTERNAL_VIEW, FASTAPI_APP


class KstthcUiPlugin(AirflowPlugin):
    name = "kstthc_ui"
    fastapi_apps = [FASTAPI_APP]
    external_views = [EXTERNAL_VIEW]
