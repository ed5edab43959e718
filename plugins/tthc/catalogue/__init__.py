"""The province's catalogue of procedures and its announcements: the store-level reads and writes the
stages share (import/export, lookups, natural keys, the draft waiting for approval)."""
