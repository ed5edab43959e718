"""Local simulator ("sandbox") of the external systems the pipeline talks to.

One HTTP server (:class:`tthc_dev.sandbox.app.Sandbox`) plays, one module per system:

* :mod:`~tthc_dev.sandbox.portal`: the national TTHC portal (``/jsp/rest.jsp``, decision pages, PDFs);
* :mod:`~tthc_dev.sandbox.ministry_site`: the ministry website's decision listing and annex pages;
* :mod:`~tthc_dev.sandbox.cms`: the department website's WordPress-style CMS (posts, pages, media);
* :mod:`~tthc_dev.sandbox.province_portal`: the provincial public-service portal's procedure catalogue;
* :mod:`~tthc_dev.sandbox.csdl`: the national CSDL publishing endpoint;

over :mod:`~tthc_dev.sandbox.data` (the read-only demo catalogue), :mod:`~tthc_dev.sandbox.state`
(what clients posted, kept in JSON files), :mod:`~tthc_dev.sandbox.faults` (fault injection) and
:mod:`~tthc_dev.sandbox.web` (the HTTP plumbing they share). A separate SMTP sink
(:mod:`~tthc_dev.sandbox.smtp_sink`) stores outgoing mail as ``.eml`` files; :mod:`~tthc_dev.sandbox.serve`
runs both. Demo data lives in ``sandbox/data`` (:data:`DATA_DIR`); the fields come from the
department's settings.
"""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
