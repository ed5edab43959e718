"""The public systems we publish to, behind one interface (:mod:`.base`)."""
