"""Compatibility module: the sandbox used to be this one file; it is now one module per simulated system.

Import from the rooms instead (:mod:`tthc_dev.sandbox.app` for :class:`Sandbox`); this module only
re-exports the names other code imported from here, for branches written before the split, and can be
deleted once nothing imports it.
"""

from tthc_dev.sandbox.app import DEFAULT_DATA_DIR, DEFAULT_ROBOTS_TXT, Sandbox
from tthc_dev.sandbox.data import Catalogue, Decision, Item
from tthc_dev.sandbox.faults import FAULT_KINDS
from tthc_dev.sandbox.portal import fake_pdf
from tthc_dev.sandbox.web import Response

__all__ = ["DEFAULT_DATA_DIR", "DEFAULT_ROBOTS_TXT", "FAULT_KINDS", "Catalogue", "Decision", "Item", "Response",
           "Sandbox", "fake_pdf"]
