"""tthc-pipeline: control of administrative procedures (kiểm soát thủ tục hành chính, KSTTHC).

The importable domain package. Airflow DAG files in ``dags/`` only wire these modules together.
"""

__version__ = "0.1.0"
