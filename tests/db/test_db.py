"""db: Alembic migrations match the models on SQLite and PostgreSQL; natural keys are enforced."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import IntegrityError
from tthc.db.models import Base, Decision, Flag, MailLog, Posting, Procedure
from tthc.db.session import alembic_config, migrate, session_scope

RUN = datetime(2026, 11, 26, tzinfo=UTC)


def test_migrations_create_every_model_table(db_url):
    tables = set(sa.inspect(sa.create_engine(db_url)).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_models_and_migrations_agree(db_url):
    """`alembic check`: autogenerate finds nothing the migrations forgot."""
    command.check(alembic_config(db_url))


def test_migrate_is_idempotent_and_downgrades(db_url):
    migrate(db_url)  # second time: nothing to do
    command.downgrade(alembic_config(db_url), "base")
    assert "procedures" not in sa.inspect(sa.create_engine(db_url)).get_table_names()
    migrate(db_url)
    assert "procedures" in sa.inspect(sa.create_engine(db_url)).get_table_names()


def test_decision_natural_key_is_unique(db_url):
    with pytest.raises(IntegrityError):
        with session_scope(db_url) as s:
            for _ in range(2):
                s.add(Decision(so_hieu="1/QĐ-BKHCN", so_hieu_key="1/QĐ-BKHCN", trich_yeu="x",
                               agency_name="Bộ Khoa học và Công nghệ", field_keys="", ingested_at=RUN))
                s.flush()


def test_ledgers_are_unique_by_natural_key(db_url):
    with pytest.raises(IntegrityError):
        with session_scope(db_url) as s:
            for _ in range(2):
                s.add(Posting(channel="cms", object_key="decision:x", version=1, content_hash="h",
                              posted_for=date(2026, 11, 26)))
                s.flush()
    with pytest.raises(IntegrityError):
        with session_scope(db_url) as s:
            for _ in range(2):
                s.add(MailLog(kind="digest", period_key="2026-11-26", subject="s", recipients="r"))
                s.flush()


def test_procedure_codes_are_unique_but_may_be_missing(db_url):
    with session_scope(db_url) as s:
        s.add_all([Procedure(code=None, name="A", name_key="a"), Procedure(code=None, name="B", name_key="b")])
    with pytest.raises(IntegrityError):
        with session_scope(db_url) as s:
            s.add_all([Procedure(code="1.000001", name="A", name_key="a"),
                       Procedure(code="1.000001", name="C", name_key="c")])
            s.flush()


def test_session_scope_rolls_back_on_error(db_url):
    with pytest.raises(RuntimeError):
        with session_scope(db_url) as s:
            s.add(Procedure(code="1.000002", name="A", name_key="a"))
            s.flush()
            raise RuntimeError("boom")
    with session_scope(db_url) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Procedure)) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(Flag)) == 0
