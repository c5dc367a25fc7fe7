"""Migrations are SQL files, applied in name order, split where SQLite says a statement ends."""

from __future__ import annotations

import re
import sqlite3

from session_tree.store._migrations import MIGRATIONS, statements


def test_migrations_are_numbered_in_order_and_unique() -> None:
    names = [name for name, _ in MIGRATIONS]
    numbers = [int(name[:4]) for name in names]
    assert all(re.fullmatch(r"\d{4}_[a-z0-9_]+", name) for name in names), names
    assert numbers == sorted(set(numbers))
    assert names[0] == "0001_nodes_and_sessions"


def test_a_trigger_body_and_semicolons_in_comments_and_strings_stay_whole() -> None:
    sql = """
    -- a comment; with a semicolon
    CREATE TABLE t (x TEXT);
    CREATE TRIGGER t_copy AFTER INSERT ON t BEGIN
        INSERT INTO t (x) SELECT 'a;b' WHERE new.x = 'last; one';
        SELECT 1;
    END;
    INSERT INTO t (x) VALUES ('last; one')
    """

    found = statements(sql)

    assert len(found) == 3
    assert found[1].startswith("CREATE TRIGGER")
    assert found[1].endswith("END;")
    assert found[2] == "INSERT INTO t (x) VALUES ('last; one')"
    db = sqlite3.connect(":memory:")
    for statement in found:
        db.execute(statement)
    assert sorted(row[0] for row in db.execute("SELECT x FROM t")) == ["a;b", "last; one"]


def test_every_shipped_migration_applies_to_an_empty_database() -> None:
    db = sqlite3.connect(":memory:")
    for _, sql in MIGRATIONS:
        for statement in statements(sql):
            db.execute(statement)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
