"""Site configurations of the generic HTML listing scraper, loaded from YAML and validated.

One YAML file per site (see ``sites/``). Every problem is reported as a :class:`ValueError` naming the
file and the key (``sites/foo.yaml: listing.path: required``), so a typo never becomes a silent
"nothing found" at run time.

A field is a CSS selector, written either as a plain string or as a mapping::

    so_hieu: "td.so-hieu a"                       # the element's text
    detail_link: {selector: "td.so-hieu a", attr: href}
    signed: {selector: "td.ngay", regex: '(\\d+/\\d+/\\d+)', date_format: "%d/%m/%Y"}

``attr`` reads an attribute instead of the text; ``regex`` keeps group 1 (or the whole match when the
pattern has no group) of the extracted value.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import soupsieve
import yaml

from tthc.core.text import match_key

SITES_DIR = Path(__file__).resolve().parent / "sites"

LISTING_FIELDS = ("so_hieu", "signed", "effective", "trich_yeu", "detail_link")
DATE_FIELDS = ("signed", "effective")
DEFAULT_REQUIRED = ("so_hieu", "signed", "trich_yeu", "detail_link")
DETAIL_FIELDS = ("title", "so_hieu", "signed", "effective", "agency", "document_type", "signer", "summary")
ANNEX_CELLS = ("code", "name", "change", "levels", "field", "replaces")
ANNEX_REQUIRED_CELLS = ("name", "change")
CHANGE_TYPES = ("new", "amended", "replaced", "abolished")
# No run reads more listing pages than this, whatever listing.max_pages says: a site that never stops
# announcing a "next" page cannot keep a task busy for hours (500 pages is 10,000+ decisions).
HARD_MAX_PAGES = 500

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class FieldSpec:
    """Where one value sits: a CSS selector, optionally an attribute, a regex and (dates) formats."""

    selector: str
    attr: str | None = None
    regex: re.Pattern[str] | None = None
    date_formats: tuple[str, ...] = ()  # overrides SiteConfig.date_formats for this field


@dataclass(frozen=True)
class AttachmentSpec:
    """Links to attached files: every element matching ``selector``; the URL is read from ``attr``."""

    selector: str
    attr: str = "href"


@dataclass(frozen=True)
class ListingConfig:
    """How to page through the listing.

    * ``page_param``: the query parameter carrying the page number (``?page=N``), starting at
      ``first_page``;
    * ``next_selector``: the "next page" link; when it is absent from a page, that page is the last
      (a link to ``javascript:``/``#``, a disabled "next", too);
    * ``pager_selector``: an element every page has, the last one too (the pager): a page without it was
      cut short, so the run cannot tell whether it was the last;
    * ``max_pages``: at most this many pages a run (at most :data:`HARD_MAX_PAGES`).

    With both, the link decides *whether* there is a next page and ``page_param`` builds its URL.
    With ``page_param`` only, paging stops at the first empty page. With neither, one page is read.
    A run that stops before reading down to the source's watermark (``max_pages`` reached, a page cut
    short, a pager missing, a page repeating an earlier one) keeps the watermark and says why.
    """

    path: str
    page_param: str | None = None
    next_selector: str | None = None
    first_page: int = 1
    max_pages: int = 50
    pager_selector: str | None = None


@dataclass(frozen=True)
class FilterConfig:
    """Which decisions are kept: the trích yếu must match the regex (if any) and hold every keyword
    (if any). Both compare case- and diacritics-insensitively. No criterion keeps everything."""

    trich_yeu_regex: re.Pattern[str] | None = None
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnnexConfig:
    """The table of procedures announced by a decision (its annex), one row per procedure."""

    row: str
    cells: dict[str, FieldSpec]  # keys among ANNEX_CELLS; "name" and "change" are required
    change_labels: dict[str, str]  # match_key(label) -> new | amended | replaced | abolished
    level_labels: dict[str, str] = field(default_factory=dict)  # match_key(label) -> level code
    level_separator: str = ";"
    required: bool = True  # a detail page without annex rows raises LayoutChangedError


@dataclass(frozen=True)
class DetailConfig:
    fields: dict[str, FieldSpec]  # keys among DETAIL_FIELDS
    attachments: AttachmentSpec | None = None
    annex: AnnexConfig | None = None
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class SiteConfig:
    name: str
    listing: ListingConfig
    row: str
    fields: dict[str, FieldSpec]  # keys among LISTING_FIELDS
    base_url: str | None = None
    conn_id: str | None = None  # Airflow connection whose URL overrides base_url at run time
    agency: str | None = None  # default issuing agency (else the detail page's)
    attachments: AttachmentSpec | None = None  # attachment links of a listing row
    date_formats: tuple[str, ...] = ("%d/%m/%Y",)
    filter: FilterConfig = field(default_factory=FilterConfig)
    detail: DetailConfig | None = None
    required: tuple[str, ...] = DEFAULT_REQUIRED
    encoding: str | None = None
    source_file: Path | None = None
    enabled: bool = True  # a site can ship configured but off until its connection is set up
    pool: str = "html_sites"  # the Airflow pool limiting requests to this site
    # text the end of every whole page holds (a page without it was cut short); null: no check
    end_marker: str | None = "</html>"


# ----------------------------------------------------------------------------------- validation


class _Checker:
    """Reads one YAML document, raising ValueError("<file>: <key>: <problem>")."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> ValueError:
        return ValueError(f"{self.path}: {key}: {problem}")

    def mapping(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a mapping, got {type(value).__name__}")
        return value

    def no_unknown(self, data: dict[str, Any], allowed: tuple[str, ...] | set[str], key: str) -> None:
        unknown = sorted(str(k) for k in data if k not in allowed)
        if unknown:
            where = f"{key}." if key else ""
            raise self.fail(f"{where}{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def text(self, data: dict[str, Any], name: str, key: str, *, required: bool = False) -> str | None:
        value = data.get(name)
        full = f"{key}.{name}" if key else name
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.fail(full, "required")
            return None
        if not isinstance(value, str):
            raise self.fail(full, f"must be a string, got {type(value).__name__}")
        return value.strip()

    def integer(self, data: dict[str, Any], name: str, key: str, default: int, minimum: int,
                maximum: int | None = None) -> int:
        value = data.get(name, default)
        if (isinstance(value, bool) or not isinstance(value, int) or value < minimum
                or (maximum is not None and value > maximum)):
            bounds = f">= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
            raise self.fail(f"{key}.{name}", f"must be an integer {bounds}, got {value!r}")
        return value

    def selector(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "a CSS selector (non-empty string) is required")
        try:
            soupsieve.compile(value.strip())
        except Exception as exc:  # noqa: BLE001 - soupsieve raises several error types
            raise self.fail(key, f"invalid CSS selector {value!r}: {exc}") from exc
        return value.strip()

    def regex(self, value: Any, key: str) -> re.Pattern[str] | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(key, "must be a non-empty regular expression string")
        try:
            return re.compile(value)
        except re.error as exc:
            raise self.fail(key, f"invalid regular expression {value!r}: {exc}") from exc

    def date_formats(self, value: Any, key: str) -> tuple[str, ...]:
        formats = [value] if isinstance(value, str) else value
        if not isinstance(formats, list) or not formats:
            raise self.fail(key, "must be a strptime format or a non-empty list of them")
        for fmt in formats:
            if not isinstance(fmt, str) or "%" not in fmt:
                raise self.fail(key, f"{fmt!r} is not a strptime format (e.g. '%d/%m/%Y')")
        return tuple(formats)

    def field_spec(self, value: Any, key: str, *, is_date: bool = False) -> FieldSpec:
        if isinstance(value, str):
            return FieldSpec(self.selector(value, key))
        data = self.mapping(value, key)
        allowed = ("selector", "attr", "regex") + (("date_format",) if is_date else ())
        self.no_unknown(data, allowed, key)
        return FieldSpec(
            selector=self.selector(data.get("selector"), f"{key}.selector"),
            attr=self.text(data, "attr", key),
            regex=self.regex(data.get("regex"), f"{key}.regex"),
            date_formats=self.date_formats(data["date_format"], f"{key}.date_format")
            if data.get("date_format") is not None else (),
        )

    def attachment_spec(self, value: Any, key: str) -> AttachmentSpec | None:
        if value is None:
            return None
        if isinstance(value, str):
            return AttachmentSpec(self.selector(value, key))
        data = self.mapping(value, key)
        self.no_unknown(data, ("selector", "attr"), key)
        return AttachmentSpec(self.selector(data.get("selector"), f"{key}.selector"),
                              self.text(data, "attr", key) or "href")

    def labels(self, value: Any, key: str, allowed_values: tuple[str, ...] | None = None) -> dict[str, str]:
        data = self.mapping(value, key)
        if not data:
            raise self.fail(key, "must not be empty")
        out = {}
        for label, code in data.items():
            if not isinstance(label, str) or not isinstance(code, str) or not label.strip() or not code.strip():
                raise self.fail(f"{key}.{label}", "labels and values must be non-empty strings")
            if allowed_values is not None and code not in allowed_values:
                raise self.fail(f"{key}.{label}", f"{code!r} is not one of {', '.join(allowed_values)}")
            out[match_key(label)] = code.strip()
        return out

    def names(self, value: Any, key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of field names")
        for v in value:
            if v not in allowed:
                raise self.fail(key, f"{v!r} is not a known field ({', '.join(allowed)})")
        return tuple(value)


def _parse(data: Any, path: Path) -> SiteConfig:
    c = _Checker(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the file must hold a mapping (a site configuration), got {type(data).__name__}")
    c.no_unknown(data, ("name", "agency", "base_url", "conn_id", "listing", "row", "fields", "date_format",
                        "filter", "detail", "required", "encoding", "enabled", "pool", "end_marker"), "")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise c.fail("enabled", "must be true or false")
    pool = data.get("pool", "html_sites")
    if not isinstance(pool, str) or not _NAME_RE.match(pool):
        raise c.fail("pool", f"{pool!r} must be an Airflow pool name (lower-case letters, digits, '_')")

    name = c.text(data, "name", "", required=True)
    assert name is not None
    if not _NAME_RE.match(name):
        raise c.fail("name", f"{name!r} must be lower-case letters, digits and '_' (a source name)")
    base_url = c.text(data, "base_url", "")
    conn_id = c.text(data, "conn_id", "")
    if base_url is None and conn_id is None:
        raise c.fail("base_url", "required (or give conn_id, an Airflow connection holding the URL)")
    if base_url is not None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise c.fail("base_url", f"{base_url!r} is not an absolute http(s) URL")
        base_url = base_url.rstrip("/")

    lst = c.mapping(data.get("listing"), "listing") if data.get("listing") is not None else None
    if lst is None:
        raise c.fail("listing", "required")
    c.no_unknown(lst, ("path", "page_param", "next_selector", "first_page", "max_pages", "pager_selector"),
                 "listing")
    listing_path = c.text(lst, "path", "listing", required=True)
    assert listing_path is not None
    if not listing_path.startswith("/"):
        raise c.fail("listing.path", f"{listing_path!r} must start with '/'")
    listing = ListingConfig(
        path=listing_path,
        page_param=c.text(lst, "page_param", "listing"),
        next_selector=c.selector(lst["next_selector"], "listing.next_selector")
        if lst.get("next_selector") is not None else None,
        first_page=c.integer(lst, "first_page", "listing", 1, 0),
        max_pages=c.integer(lst, "max_pages", "listing", 50, 1, HARD_MAX_PAGES),
        pager_selector=c.selector(lst["pager_selector"], "listing.pager_selector")
        if lst.get("pager_selector") is not None else None,
    )

    row = c.selector(data.get("row"), "row")
    date_formats = c.date_formats(data.get("date_format", "%d/%m/%Y"), "date_format")

    fields_data = c.mapping(data.get("fields"), "fields") if data.get("fields") is not None else None
    if fields_data is None:
        raise c.fail("fields", "required")
    c.no_unknown(fields_data, LISTING_FIELDS + ("attachments",), "fields")
    fields = {k: c.field_spec(v, f"fields.{k}", is_date=k in DATE_FIELDS)
              for k, v in fields_data.items() if k != "attachments" and v is not None}
    if "detail_link" in fields and fields["detail_link"].attr is None:
        fields["detail_link"] = FieldSpec(fields["detail_link"].selector, "href", fields["detail_link"].regex)
    attachments = c.attachment_spec(fields_data.get("attachments"), "fields.attachments")

    required = c.names(data["required"], "required", LISTING_FIELDS) if "required" in data else DEFAULT_REQUIRED
    for name_ in required:
        if name_ not in fields:
            raise c.fail(f"fields.{name_}", "required (listed in 'required')")

    flt = FilterConfig()
    if data.get("filter") is not None:
        fd = c.mapping(data["filter"], "filter")
        c.no_unknown(fd, ("trich_yeu_regex", "keywords"), "filter")
        keywords = fd.get("keywords") or []
        if not isinstance(keywords, list) or not all(isinstance(k, str) and k.strip() for k in keywords):
            raise c.fail("filter.keywords", "must be a list of non-empty strings")
        flt = FilterConfig(trich_yeu_regex=c.regex(fd.get("trich_yeu_regex"), "filter.trich_yeu_regex"),
                           keywords=tuple(k.strip() for k in keywords))

    detail = _parse_detail(c, data["detail"]) if data.get("detail") is not None else None

    encoding = c.text(data, "encoding", "")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise c.fail("encoding", f"unknown encoding {encoding!r}") from exc

    end_marker = data.get("end_marker", "</html>")
    if end_marker is not None and (not isinstance(end_marker, str) or not end_marker.strip()):
        raise c.fail("end_marker", "must be a non-empty string (e.g. '</html>') or null (no check)")

    return SiteConfig(
        name=name, listing=listing, row=row, fields=fields, base_url=base_url, conn_id=conn_id,
        agency=c.text(data, "agency", ""), attachments=attachments, date_formats=date_formats, filter=flt,
        detail=detail, required=required, encoding=encoding, source_file=path, enabled=enabled, pool=pool,
        end_marker=end_marker.strip() if end_marker is not None else None,
    )


def _parse_detail(c: _Checker, value: Any) -> DetailConfig:
    d = c.mapping(value, "detail")
    c.no_unknown(d, ("fields", "attachments", "annex", "required"), "detail")
    fd = c.mapping(d.get("fields") or {}, "detail.fields")
    c.no_unknown(fd, DETAIL_FIELDS, "detail.fields")
    fields = {k: c.field_spec(v, f"detail.fields.{k}", is_date=k in DATE_FIELDS) for k, v in fd.items()
              if v is not None}
    required = c.names(d["required"], "detail.required", DETAIL_FIELDS) if "required" in d else ()
    for name in required:
        if name not in fields:
            raise c.fail(f"detail.fields.{name}", "required (listed in 'detail.required')")
    annex = None
    if d.get("annex") is not None:
        a = c.mapping(d["annex"], "detail.annex")
        c.no_unknown(a, ("row", "cells", "change_labels", "level_labels", "level_separator", "required"),
                     "detail.annex")
        cells_data = c.mapping(a.get("cells"), "detail.annex.cells")
        c.no_unknown(cells_data, ANNEX_CELLS, "detail.annex.cells")
        cells = {k: c.field_spec(v, f"detail.annex.cells.{k}") for k, v in cells_data.items() if v is not None}
        for name in ANNEX_REQUIRED_CELLS:
            if name not in cells:
                raise c.fail(f"detail.annex.cells.{name}", "required")
        if a.get("change_labels") is None:
            raise c.fail("detail.annex.change_labels", "required")
        sep = a.get("level_separator", ";")
        if not isinstance(sep, str) or not sep:
            raise c.fail("detail.annex.level_separator", "must be a non-empty string")
        req = a.get("required", True)
        if not isinstance(req, bool):
            raise c.fail("detail.annex.required", "must be true or false")
        annex = AnnexConfig(
            row=c.selector(a.get("row"), "detail.annex.row"),
            cells=cells,
            change_labels=c.labels(a["change_labels"], "detail.annex.change_labels", CHANGE_TYPES),
            level_labels=c.labels(a["level_labels"], "detail.annex.level_labels")
            if a.get("level_labels") is not None else {},
            level_separator=sep,
            required=req,
        )
    if not fields and annex is None:
        raise c.fail("detail.fields", "required (at least one detail field or an annex)")
    return DetailConfig(fields=fields, attachments=c.attachment_spec(d.get("attachments"), "detail.attachments"),
                        annex=annex, required=required)


# ----------------------------------------------------------------------------------- loading


def load_site_config(path: str | Path) -> SiteConfig:
    """Load and validate one site's YAML file; ValueError names the file and the offending key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: invalid YAML: {exc}") from exc
    return _parse(data, path)


def load_all(directory: str | Path = SITES_DIR) -> dict[str, SiteConfig]:
    """Every site configuration (``*.yaml``, ``*.yml``) of a directory, by source name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a directory of site configurations")
    sites: dict[str, SiteConfig] = {}
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        cfg = load_site_config(path)
        if cfg.name in sites:
            raise ValueError(f"{path}: name: {cfg.name!r} is already used by {sites[cfg.name].source_file}")
        sites[cfg.name] = cfg
    return sites
