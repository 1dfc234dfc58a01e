"""Database helpers shared by ingest and the worker."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

_CHUNK = 2000


def fast_update(objs: Sequence[Any], fields: Sequence[str]) -> None:
    """UPDATE ... WHERE pk = %s with executemany: Django's bulk_update builds a CASE expression
    per row and field, which costs more than the whole rest of a re-sync."""
    if not objs:
        return
    meta = type(objs[0])._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    # identifiers come from the model's own metadata, values are parameters
    sql = (
        f"UPDATE {quote(meta.db_table)} SET "
        + ", ".join(f"{quote(column.column)} = %s" for column in columns)
        + f" WHERE {quote(meta.pk.column)} = %s"
    )
    rows = [
        [column.get_db_prep_save(getattr(obj, column.attname), connection) for column in columns] + [obj.pk]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _CHUNK):
            cursor.executemany(sql, rows[start : start + _CHUNK])
