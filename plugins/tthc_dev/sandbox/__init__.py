"""Local simulator ("sandbox") of the external systems the pipeline talks to.

One HTTP server plays the national TTHC portal (``/jsp/rest.jsp`` and the decision pages), the
ministry website's decision listing, the department website's WordPress-style CMS and the national
CSDL publishing endpoint; a separate SMTP sink stores outgoing mail as ``.eml`` files. Demo data
lives in ``sandbox/data`` (:data:`DATA_DIR`); the fields come from the department's settings.
"""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
