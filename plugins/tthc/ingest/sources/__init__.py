"""Sources of ministry decisions. One folder per source: ``client`` (live HTTP), ``helpers`` (parsing),
``settings`` (constants). The bundled sandbox (``tthc_dev.sandbox``) serves the same wire formats locally."""
