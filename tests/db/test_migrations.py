"""Every migration goes down to base and back up on both backends, leaving head intact."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from hpf.db.engine import make_engine
from hpf.db.migrate import alembic_config, current, upgrade


def test_downgrade_to_base_and_upgrade_again(fresh_db_url: str) -> None:
    upgrade(fresh_db_url)
    head_tables = set(inspect(make_engine(fresh_db_url)).get_table_names())
    cfg = alembic_config(fresh_db_url)
    command.downgrade(cfg, "base")
    engine = make_engine(fresh_db_url)
    left = set(inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert left == set()
    upgrade(fresh_db_url)
    revision, head = current(fresh_db_url)
    assert revision == head
    engine = make_engine(fresh_db_url)
    assert set(inspect(engine).get_table_names()) == head_tables
    engine.dispose()
