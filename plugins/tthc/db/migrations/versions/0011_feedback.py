"""citizens' feedback (phản ánh, kiến nghị): received, tracked, answered, published

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('feedback_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.String(length=255), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('procedure_id', sa.Integer(), nullable=True),
    sa.Column('procedure_code', sa.String(length=16), nullable=True),
    sa.Column('procedure_name', sa.Text(), nullable=False),
    sa.Column('field_name', sa.String(length=255), nullable=False),
    sa.Column('page_id', sa.String(length=64), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sender_name', sa.String(length=255), nullable=True),
    sa.Column('sender_contact', sa.String(length=255), nullable=True),
    sa.Column('contact_purged_on', sa.Date(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=True),
    sa.Column('kind_reason', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('assigned_to', sa.String(length=128), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('deadline_rule', sa.String(length=64), nullable=False),
    sa.Column('deadline_provisional', sa.Boolean(), nullable=False),
    sa.Column('answer_text', sa.Text(), nullable=True),
    sa.Column('answered_by', sa.String(length=128), nullable=True),
    sa.Column('answered_on', sa.Date(), nullable=True),
    sa.Column('published_on', sa.Date(), nullable=True),
    sa.Column('reply_id', sa.String(length=64), nullable=True),
    sa.Column('reply_url', sa.Text(), nullable=True),
    sa.Column('created_for', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'source_id', name='uq_feedback_natural')
    )
    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_items_received_on'), ['received_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_items_received_on'))
    op.drop_table('feedback_items')
