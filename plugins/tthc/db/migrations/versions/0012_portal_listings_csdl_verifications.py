"""the national decision list as read (every agency) and the verification of our publications on it

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('portal_listings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('portal_id', sa.String(length=32), nullable=False),
    sa.Column('so_hieu', sa.String(length=255), nullable=False),
    sa.Column('so_hieu_key', sa.String(length=255), nullable=False),
    sa.Column('trich_yeu', sa.Text(), nullable=False),
    sa.Column('agency_name', sa.String(length=255), nullable=False),
    sa.Column('agency_portal_id', sa.String(length=32), nullable=True),
    sa.Column('published_date', sa.Date(), nullable=False),
    sa.Column('groups', sa.JSON(), nullable=True),
    sa.Column('seen_for', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('portal_id', name='uq_portal_listing_id')
    )
    op.create_index(op.f('ix_portal_listings_so_hieu_key'), 'portal_listings', ['so_hieu_key'], unique=False)
    op.create_index(op.f('ix_portal_listings_published_date'), 'portal_listings', ['published_date'], unique=False)
    op.create_table('csdl_verifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=True),
    sa.Column('listed_on', sa.Date(), nullable=True),
    sa.Column('verified_for', sa.Date(), nullable=True),
    sa.Column('checked_for', sa.Date(), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('missing', sa.JSON(), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], ),
    sa.ForeignKeyConstraint(['listing_id'], ['portal_listings.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('announcement_id', name='uq_csdl_verification_announcement')
    )


def downgrade() -> None:
    op.drop_table('csdl_verifications')
    op.drop_index(op.f('ix_portal_listings_published_date'), table_name='portal_listings')
    op.drop_index(op.f('ix_portal_listings_so_hieu_key'), table_name='portal_listings')
    op.drop_table('portal_listings')
