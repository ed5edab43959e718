"""The declarative base every catalogue model derives from (one ``Base.metadata`` for Alembic)."""

from __future__ import annotations

from sqlalchemy import JSON
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSON, list: JSON}
