"""The KSTTHC page inside the Airflow UI (an Airflow 3.1+ plugin: a FastAPI app and a navigation entry).

``app`` (the pages), ``security`` (login, roles, CSRF), ``state`` (what the pages show), ``hitl`` (answering
``tthc_approve``'s waiting request), ``plugin`` (what ``plugins/kstthc_ui_plugin.py`` registers).
"""
