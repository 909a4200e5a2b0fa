"""catalog: variants, typed attributes and images

Every existing product gets its one variant, carrying its price and stock, with the product's own
id as the variant's id (so the cart's and orders' migrations can point their rows at it without
reading this plugin's tables) and its slug as SKU (with `-<id>` where two slugs differ only in
case). Its options are `{}`: a product without options.

Revision ID: catalog_0003
Revises: catalog_0002
Create Date: 2026-12-01
"""
import hashlib
import json

from alembic import op
import sqlalchemy as sa

revision = "catalog_0003"
down_revision = "catalog_0002"
branch_labels = None
depends_on = None

# The options key of `{}` (services.options_key): a digest of the canonical JSON of the options.
EMPTY_OPTIONS_KEY = hashlib.sha256(json.dumps({}, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("catalog_products") as batch:
        batch.add_column(sa.Column("option_names", sa.JSON(), nullable=False, server_default="[]"))

    op.create_table(
        "catalog_variants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(120), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("options_key", sa.String(64), nullable=False),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_catalog_variants"),
        sa.ForeignKeyConstraint(["product_id"], ["catalog_products.id"], ondelete="CASCADE",
                                name="fk_catalog_variants_product_id_catalog_products"),
        sa.CheckConstraint("price >= 0", name="ck_catalog_variants_price_not_negative"),
        sa.CheckConstraint("stock >= 0", name="ck_catalog_variants_stock_not_negative"),
    )
    if postgresql:
        op.execute("CREATE UNIQUE INDEX uq_catalog_variants_sku_lower ON catalog_variants (lower(sku) text_pattern_ops)")
    else:
        op.create_index("uq_catalog_variants_sku_lower", "catalog_variants", [sa.text("lower(sku)")], unique=True)
    op.create_index("uq_catalog_variants_product_options", "catalog_variants", ["product_id", "options_key"],
                    unique=True)
    # Slugs are unique as written; a later slug equal to an earlier one but for case gets its id appended.
    op.execute(sa.text(
        "INSERT INTO catalog_variants (id, product_id, sku, options, options_key, price, stock, is_active, "
        "created_at, updated_at) "
        "SELECT p.id, p.id, CASE WHEN EXISTS (SELECT 1 FROM catalog_products q WHERE lower(q.slug) = lower(p.slug) "
        "AND q.id < p.id) THEN substr(p.slug, 1, 100) || '-' || p.id ELSE p.slug END, "
        "'{}', :empty, p.price, p.stock, p.is_active, p.created_at, p.updated_at FROM catalog_products p"
    ).bindparams(empty=EMPTY_OPTIONS_KEY))
    if postgresql:
        op.execute("SELECT setval(pg_get_serial_sequence('catalog_variants', 'id'), "
                   "(SELECT coalesce(max(id), 0) + 1 FROM catalog_variants), false)")

    op.create_table(
        "catalog_attributes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_catalog_attributes"),
        sa.UniqueConstraint("code", name="uq_catalog_attributes_code"),
        sa.CheckConstraint("type IN ('text', 'number', 'boolean', 'choice')", name="ck_catalog_attributes_type_known"),
    )
    op.create_table(
        "catalog_product_attributes",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("attribute_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("product_id", "attribute_id", name="pk_catalog_product_attributes"),
        sa.ForeignKeyConstraint(["product_id"], ["catalog_products.id"], ondelete="CASCADE",
                                name="fk_catalog_product_attributes_product_id_catalog_products"),
        sa.ForeignKeyConstraint(["attribute_id"], ["catalog_attributes.id"], ondelete="CASCADE",
                                name="fk_catalog_product_attributes_attribute_id_catalog_attributes"),
    )
    op.create_index("ix_catalog_product_attributes_filter", "catalog_product_attributes",
                    ["attribute_id", "value", "product_id"])

    op.create_table(
        "catalog_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(200), nullable=False),
        sa.Column("thumbnail_key", sa.String(200), nullable=False),
        sa.Column("alt", sa.String(300), nullable=False, server_default=""),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(1000), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_catalog_images"),
        sa.ForeignKeyConstraint(["product_id"], ["catalog_products.id"], ondelete="CASCADE",
                                name="fk_catalog_images_product_id_catalog_products"),
    )
    op.create_index("ix_catalog_images_product_id", "catalog_images", ["product_id"])


def downgrade() -> None:
    op.drop_table("catalog_images")
    op.drop_table("catalog_product_attributes")
    op.drop_table("catalog_attributes")
    op.drop_table("catalog_variants")
    with op.batch_alter_table("catalog_products") as batch:
        batch.drop_column("option_names")
