# syntax=docker/dockerfile:1
# Image for every Airflow component of tthc-pipeline (api-server, scheduler,
# dag-processor, triggerer, celery worker) and for the demo sandbox.
FROM apache/airflow:3.3.2-python3.11

# The official image expects extra Python packages to be installed by the
# unprivileged "airflow" user (into its ~/.local environment), never as root.
USER airflow
WORKDIR /opt/airflow

# 1. Third-party dependencies, pinned by the constraints file. Copied on their
#    own so this layer is cached until the requirements change.
COPY --chown=airflow:0 requirements.txt constraints.txt /opt/airflow/
RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt

# 2. The project itself (the `tthc` package and CLI). Dependencies were
#    installed above, hence --no-deps. The editable install points at
#    /opt/airflow/plugins, which docker-compose bind-mounts from ./plugins,
#    so code edits on the host are picked up without a rebuild.
# pyproject.toml declares readme = "README.md"; the "README.m[d]" glob copies it
# when present without failing the build when it is not.
COPY --chown=airflow:0 pyproject.toml README.m[d] /opt/airflow/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
RUN pip install --no-cache-dir --no-deps -e /opt/airflow

# Airflow already puts dags/, plugins/ and config/ on sys.path; include/ holds
# shared helpers/data used by the DAGs.
ENV PYTHONPATH=/opt/airflow/include
