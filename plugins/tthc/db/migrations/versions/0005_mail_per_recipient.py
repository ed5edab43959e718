"""mail ledger per recipient, resend count, archive path

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mail_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient', sa.String(length=255), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('sends', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('archive_path', sa.Text(), nullable=True))
        batch_op.drop_constraint('uq_mail_natural', type_='unique')
        batch_op.create_unique_constraint('uq_mail_natural', ['kind', 'period_key', 'recipient'])


def downgrade() -> None:
    with op.batch_alter_table('mail_log', schema=None) as batch_op:
        batch_op.drop_constraint('uq_mail_natural', type_='unique')
        batch_op.create_unique_constraint('uq_mail_natural', ['kind', 'period_key'])
        batch_op.drop_column('archive_path')
        batch_op.drop_column('sends')
        batch_op.drop_column('recipient')
