"""posting claims (one writer per channel object); mail ledger keeps what a pending alert must send

Revision ID: 0007
Revises: 0006 (re-chained to 0006 when merged beside it)
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('posting_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('object_key', sa.String(length=255), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=255), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('taken_over_from', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'object_key', 'version', name='uq_posting_claim')
    )
    with op.batch_alter_table('mail_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payload', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sending_by', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('mail_log', schema=None) as batch_op:
        batch_op.drop_column('last_error')
        batch_op.drop_column('sending_by')
        batch_op.drop_column('attempted_at')
        batch_op.drop_column('payload')
    op.drop_table('posting_claims')
