"""draft files in the store, approval answers (audit trail and re-ask)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('draft_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=128), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_for', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('announcement_id', 'kind', name='uq_draft_file_natural')
    )
    with op.batch_alter_table('draft_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_files_announcement_id'), ['announcement_id'], unique=False)

    op.create_table('approval_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('answered_by', sa.String(length=128), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('choice', sa.String(length=32), nullable=False),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('problem', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('announcement_id', 'answered_at', 'answered_by', name='uq_approval_answer_natural')
    )
    with op.batch_alter_table('approval_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_answers_announcement_id'), ['announcement_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('approval_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_answers_announcement_id'))
    op.drop_table('approval_answers')
    with op.batch_alter_table('draft_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draft_files_announcement_id'))
    op.drop_table('draft_files')
