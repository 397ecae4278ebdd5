"""procurement's things belong to an organisation (vendors, assets, loans, claims, projects,
contracts carry ``org``), for the walls between organisations; a tax id, an asset tag and a
contract number are unique within an organisation, no longer across the installation

Backfill of the rows already there, in this order:
1. a project serving a case: its SOP's pack (``case_sop`` is ``<pack>/<sop>``);
2. a contract: its project's;
3. a vendor: the organisation of the first project it contracted or quoted for;
4. an asset: its vendor's; a loan and a claim: their asset's, else (a claim) their vendor's;
5. anything else: the default organisation, which is ``SOPDESK_MIGRATION_ORG`` when set, else the
   only organisation of the installation's units (assignment's ``units``, read once here) when
   there is exactly one, else the organisation most projects were found to serve (step 1), else
   ``sesao-sc`` (the embedded default's demo organisation). An installation that served several
   organisations before the walls moves rows with SQL after this migration if the default is wrong.

Revision ID: a9d3e5f7b1c2
Revises: 6e31f4164c2b
Create Date: 2026-12-03 13:10:00
"""
import os

import sqlalchemy as sa
from alembic import op

revision = 'a9d3e5f7b1c2'
down_revision = '6e31f4164c2b'
branch_labels = None
depends_on = None

TABLES = ("vendors", "assets", "asset_loans", "claims", "projects", "contracts")
FALLBACK = "sesao-sc"


def _default_org(bind) -> str:
    named = (os.environ.get("SOPDESK_MIGRATION_ORG") or "").strip()
    if named:
        return named[:50]
    orgs = []
    # assignment's units, when its schema is in the same database (not when a service has its own)
    if bind.execute(sa.text("SELECT to_regclass('assignment.units')")).scalar() is not None:
        orgs = [row[0] for row in bind.execute(sa.text("SELECT DISTINCT pack FROM assignment.units"))]
    if len(orgs) == 1:
        return orgs[0]
    most = bind.execute(sa.text("SELECT org FROM projects WHERE org IS NOT NULL GROUP BY org "
                                "ORDER BY count(*) DESC, org LIMIT 1")).scalar()
    return most or FALLBACK


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("org", sa.String(length=50), nullable=True))
    bind = op.get_bind()
    op.execute("UPDATE projects SET org = split_part(case_sop, '/', 1) "
               "WHERE case_sop IS NOT NULL AND split_part(case_sop, '/', 1) <> ''")
    default = _default_org(bind)
    bind.execute(sa.text("UPDATE projects SET org = :org WHERE org IS NULL"), {"org": default})
    op.execute("UPDATE contracts c SET org = p.org FROM projects p WHERE p.id = c.project_id")
    op.execute("""UPDATE vendors v SET org = found.org FROM (
                    SELECT DISTINCT ON (vendor_id) vendor_id, org FROM (
                      SELECT c.vendor_id, c.org, c.id AS n, 0 AS k FROM contracts c
                      UNION ALL SELECT q.vendor_id, p.org, q.id, 1 FROM quotes q JOIN projects p ON p.id = q.project_id
                    ) uses ORDER BY vendor_id, k, n) found
                  WHERE v.id = found.vendor_id""")
    bind.execute(sa.text("UPDATE vendors SET org = :org WHERE org IS NULL"), {"org": default})
    op.execute("UPDATE assets a SET org = v.org FROM vendors v WHERE v.id = a.vendor_id")
    bind.execute(sa.text("UPDATE assets SET org = :org WHERE org IS NULL"), {"org": default})
    op.execute("UPDATE asset_loans l SET org = a.org FROM assets a WHERE a.id = l.asset_id")
    op.execute("UPDATE claims c SET org = a.org FROM assets a WHERE a.id = c.asset_id")
    op.execute("UPDATE claims c SET org = v.org FROM vendors v WHERE v.id = c.vendor_id AND c.org IS NULL")
    for table in TABLES:
        op.alter_column(table, "org", nullable=False)
        op.create_index(op.f(f"ix_{table}_org"), table, ["org"], unique=False)
    op.drop_constraint("uq_vendors_tax_id", "vendors", type_="unique")
    op.create_unique_constraint("uq_vendors_org_tax_id", "vendors", ["org", "tax_id"])
    op.drop_constraint("uq_assets_tag", "assets", type_="unique")
    op.create_unique_constraint("uq_assets_org_tag", "assets", ["org", "tag"])
    op.drop_index("ix_assets_tag_lower", table_name="assets")
    op.create_index("ix_assets_org_tag_lower", "assets", ["org", sa.text("lower(tag)")], unique=False)
    op.drop_constraint("uq_contracts_number", "contracts", type_="unique")
    op.create_unique_constraint("uq_contracts_org_number", "contracts", ["org", "number"])


def downgrade() -> None:
    # fails if two organisations registered the same tax id, tag or contract number (as it must)
    op.drop_constraint("uq_contracts_org_number", "contracts", type_="unique")
    op.create_unique_constraint("uq_contracts_number", "contracts", ["number"])
    op.drop_index("ix_assets_org_tag_lower", table_name="assets")
    op.create_index("ix_assets_tag_lower", "assets", [sa.text("lower(tag)")], unique=False)
    op.drop_constraint("uq_assets_org_tag", "assets", type_="unique")
    op.create_unique_constraint("uq_assets_tag", "assets", ["tag"])
    op.drop_constraint("uq_vendors_org_tax_id", "vendors", type_="unique")
    op.create_unique_constraint("uq_vendors_tax_id", "vendors", ["tax_id"])
    for table in reversed(TABLES):
        op.drop_index(op.f(f"ix_{table}_org"), table_name=table)
        op.drop_column(table, "org")
