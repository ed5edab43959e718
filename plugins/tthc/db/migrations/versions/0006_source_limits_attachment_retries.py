"""wider số hiệu and source ids; failed attachment downloads recorded for retries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.alter_column('so_hieu', existing_type=sa.String(length=64), type_=sa.String(length=255),
                              existing_nullable=False)
        batch_op.alter_column('so_hieu_key', existing_type=sa.String(length=64), type_=sa.String(length=255),
                              existing_nullable=False)
    with op.batch_alter_table('decision_sources', schema=None) as batch_op:
        batch_op.alter_column('external_id', existing_type=sa.String(length=255), type_=sa.String(length=1000),
                              existing_nullable=False)
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('http_status', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_retry_for', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_attachments_next_retry_for'), ['next_retry_for'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_next_retry_for'))
        batch_op.drop_column('next_retry_for')
        batch_op.drop_column('attempts')
        batch_op.drop_column('http_status')
        batch_op.drop_column('source')
    with op.batch_alter_table('decision_sources', schema=None) as batch_op:
        batch_op.alter_column('external_id', existing_type=sa.String(length=1000), type_=sa.String(length=255),
                              existing_nullable=False)
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.alter_column('so_hieu_key', existing_type=sa.String(length=255), type_=sa.String(length=64),
                              existing_nullable=False)
        batch_op.alter_column('so_hieu', existing_type=sa.String(length=255), type_=sa.String(length=64),
                              existing_nullable=False)
