"""Generic scraper of HTML listings of decisions, configured per site by a YAML file in ``sites/``.

* :mod:`.config` — :class:`SiteConfig`, loaded and validated by :func:`load_site_config` / :func:`load_all`;
* :mod:`.helpers` — pure parsing: :func:`parse_listing`, :func:`parse_detail`;
* :mod:`.client` — :class:`HtmlListingClient` (HTTP, paging, snapshots).

Adding a site needs only a new YAML file.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SITES_DIR", "SiteConfig", "load_all", "load_site_config"]


def __getattr__(name: str) -> Any:
    """Lazy: DAG files import ``.index`` at parse time without pulling in the HTML parser."""
    if name in __all__:
        from tthc.ingest.sources.html_listing import config

        return getattr(config, name)
    raise AttributeError(name)
