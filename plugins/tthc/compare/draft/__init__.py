"""The draft provincial decision (Quyết định công bố danh mục TTHC): :mod:`.model` groups flags into the
annex, :mod:`.render` writes the DOCX and the HTML preview."""

from tthc.compare.draft.model import DraftBatch, batch_key, build_batch
from tthc.compare.draft.render import make_template, render_docx, render_html

__all__ = ["DraftBatch", "batch_key", "build_batch", "make_template", "render_docx", "render_html"]
