"""PostgreSQL: ledger postings' references checked once per statement, not once per row

A foreign key on PostgreSQL checks every inserted row with its own look-up (and a row lock)
of the referenced account and journal: for a month-end batch of a million postings that is a
million probes of ``ledger_account`` in random order, most of the cost of writing the rows.
This replaces the two foreign keys of ``ledger_posting`` on PostgreSQL by one ``AFTER INSERT``
statement trigger that checks the whole statement's rows (its transition table) with one
anti-join against each referenced table, raising ``foreign_key_violation`` (an IntegrityError,
like the key) naming the first missing account or journal.

The referenced side stays as safe as with the keys: journals were already immutable (0001),
and ledger accounts are now never deleted (accounts are closed, ``closed_on``) nor renumbered
— a trigger refuses both — so a posting can never lose its account or journal. SQLite keeps
its foreign keys: there a check is an in-process B-tree look-up and costs little.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFERENCES = (
    ("fk_ledger_posting_account_id_ledger_account", "account_id", "ledger_account"),
    ("fk_ledger_posting_journal_id_ledger_journal", "journal_id", "ledger_journal"),
)

CHECK_FUNCTION = """
CREATE OR REPLACE FUNCTION hpf_posting_references() RETURNS trigger AS $$
DECLARE
    missing BIGINT;
BEGIN
    SELECT n.account_id INTO missing FROM hpf_new_postings n
     WHERE NOT EXISTS (SELECT 1 FROM ledger_account a WHERE a.id = n.account_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger_posting: no such ledger account %', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT n.journal_id INTO missing FROM (SELECT DISTINCT journal_id FROM hpf_new_postings) n
     WHERE NOT EXISTS (SELECT 1 FROM ledger_journal j WHERE j.id = n.journal_id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger_posting: no such journal %', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql
"""

KEEP_FUNCTION = """
CREATE OR REPLACE FUNCTION hpf_refuse_account_removal() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger accounts are closed, never deleted or renumbered'
        USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _, _ in REFERENCES:
        op.drop_constraint(name, "ledger_posting", type_="foreignkey")
    op.execute(CHECK_FUNCTION)
    op.execute(
        "CREATE TRIGGER ledger_posting_references AFTER INSERT ON ledger_posting "
        "REFERENCING NEW TABLE AS hpf_new_postings "
        "FOR EACH STATEMENT EXECUTE FUNCTION hpf_posting_references()"
    )
    op.execute(KEEP_FUNCTION)
    op.execute(
        "CREATE TRIGGER ledger_account_kept BEFORE DELETE OR UPDATE OF id ON ledger_account "
        "FOR EACH ROW EXECUTE FUNCTION hpf_refuse_account_removal()"
    )
    op.execute(
        "CREATE TRIGGER ledger_account_not_truncated BEFORE TRUNCATE ON ledger_account "
        "FOR EACH STATEMENT EXECUTE FUNCTION hpf_refuse_account_removal()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS ledger_account_not_truncated ON ledger_account")
    op.execute("DROP TRIGGER IF EXISTS ledger_account_kept ON ledger_account")
    op.execute("DROP FUNCTION IF EXISTS hpf_refuse_account_removal()")
    op.execute("DROP TRIGGER IF EXISTS ledger_posting_references ON ledger_posting")
    op.execute("DROP FUNCTION IF EXISTS hpf_posting_references()")
    for name, column, table in REFERENCES:
        op.create_foreign_key(name, "ledger_posting", table, [column], ["id"])
