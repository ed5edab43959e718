"""The approve stage: a person approves or rejects the draft decision (Human-in-the-loop)."""
