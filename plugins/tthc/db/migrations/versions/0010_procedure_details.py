"""procedure details read from the national portal (versioned) and their link to decision items

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('procedure_details',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('portal_id', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('levels', sa.String(length=64), nullable=False),
    sa.Column('layout', sa.String(length=16), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=True),
    sa.Column('procedure_id', sa.Integer(), nullable=True),
    sa.Column('fetched_for', sa.Date(), nullable=False),
    sa.Column('checked_for', sa.Date(), nullable=False),
    sa.Column('change', sa.String(length=16), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('drift_status', sa.String(length=16), nullable=True),
    sa.Column('reviewed_by', sa.String(length=128), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], ),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], ),
    sa.ForeignKeyConstraint(['snapshot_id'], ['raw_snapshots.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('portal_id', 'version', name='uq_procedure_details_version')
    )
    with op.batch_alter_table('procedure_details', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procedure_details_code'), ['code'], unique=False)
        batch_op.create_index(batch_op.f('ix_procedure_details_portal_id'), ['portal_id'], unique=False)

    op.create_table('item_details',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('details_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_retry_for', sa.Date(), nullable=True),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('checked_for', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['details_id'], ['procedure_details.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['decision_items.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_id', name='uq_item_details_item')
    )


def downgrade() -> None:
    op.drop_table('item_details')
    with op.batch_alter_table('procedure_details', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procedure_details_portal_id'))
        batch_op.drop_index(batch_op.f('ix_procedure_details_code'))

    op.drop_table('procedure_details')
