"""Database helpers shared by ingest and the worker."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models import Model, QuerySet, signals
from django.db.models.base import ModelState

M = TypeVar("M", bound=Model)

_CHUNK = 2000


# Statement texts and value converters depend only on the model and the database, so they are
# made once per process (the hot paths built them per call: ~170 lookups of the thread's
# connection per order PUT). One process talks to one database (settings.DATABASES "default").
_QUOTED: dict[tuple[type[Model], str], str] = {}


def table(model: type[Model]) -> str:
    """The model's table name, quoted (from the model's metadata, never from input)."""
    return column(model, "")


def column(model: type[Model], name: str) -> str:
    """A field's column name ("pk": the primary key's; "": the table's), quoted (model metadata)."""
    quoted = _QUOTED.get((model, name))
    if quoted is None:
        if name:
            field: Any = model._meta.pk if name == "pk" else model._meta.get_field(name)
            quoted = _QUOTED[(model, name)] = str(connection.ops.quote_name(field.column))
        else:
            quoted = _QUOTED[(model, name)] = str(connection.ops.quote_name(model._meta.db_table))
    return quoted


def int_list(pks: Iterable[int]) -> str:
    """Integer keys written into SQL as a comma-separated list (``int`` on each: no injection)."""
    return ",".join(str(int(pk)) for pk in pks)


def _execute_many(sql: str, rows: Sequence[Sequence[Any]]) -> None:
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _CHUNK):
            cursor.executemany(sql, rows[start : start + _CHUNK])


_UpdatePlan = tuple[str, list[str], list[Any], str]
_UPDATE_PLANS: dict[tuple[type[Model], tuple[str, ...]], _UpdatePlan] = {}


def fast_update(objs: Sequence[Any], fields: Sequence[str]) -> None:
    """UPDATE ... WHERE pk = %s with executemany: Django's bulk_update builds a CASE expression
    per row and field, which costs more than the whole rest of a re-sync. The values go through
    the same per-field converters as ``fast_create``'s (made once per model and field list)."""
    if not objs:
        return
    model = type(objs[0])
    key = (model, tuple(fields))
    plan = _UPDATE_PLANS.get(key)
    if plan is None:
        columns = [model._meta.get_field(name) for name in fields]
        sql = (  # identifiers come from the model's own metadata, values are parameters
            f"UPDATE {table(model)} SET "
            + ", ".join(f"{column(model, name)} = %s" for name in fields)
            + f" WHERE {column(model, 'pk')} = %s"
        )
        plan = _UPDATE_PLANS[key] = (
            sql,
            [field.attname for field in columns],
            [_converter(field) for field in columns],
            model._meta.pk.attname,
        )
    sql, names, converters, pk_name = plan
    rows = [
        [convert(getattr(obj, name)) for name, convert in zip(names, converters, strict=True)]
        + [getattr(obj, pk_name)]
        for obj in objs
    ]
    _execute_many(sql, rows)


def with_pks(queryset: QuerySet[M], pks: Iterable[int]) -> QuerySet[M]:
    """``queryset.filter(pk__in=pks)`` for long lists of integer keys, without Django's per-value
    lookup preparation (about 16 µs a value, a fifth of the worker's database time). The keys are
    integers, written into the SQL as such."""
    keys = int_list(pks)
    if not keys:
        return queryset.none()
    model = queryset.model
    return queryset.extra(where=[f"{table(model)}.{column(model, 'pk')} IN ({keys})"])  # noqa: S610


def raw_rows(queryset: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` queryset as the database driver returns them: the same
    SQL (row locks included), without Django's per-value converters. On SQLite a datetime
    comes back as its stored text, which sorts as the time does; on PostgreSQL as a datetime.
    For hot paths that only compare or pass the values on (the worker's claim)."""
    sql, params = queryset.query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def db_value(model: type[Model], field: str, value: Any) -> Any:
    """``value`` as the database takes it for ``model.field`` (e.g. a datetime on SQLite)."""
    column: Any = model._meta.get_field(field)
    return column.get_db_prep_save(value, connection)


_ROWS_PER_INSERT = 200  # rows per multi-row INSERT (far below both databases' parameter limits)


def insert_rows(model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT plain rows, many per statement, for rows nobody reads back at once (no ids).

    The values go to the driver as they are: ints, strings and None, and anything else already
    converted with ``db_value`` (once, when it is the same for every row). Django's bulk_create
    builds a model instance and prepares every value of every row, which was half of the
    worker's database time per message; one statement per row (executemany) also hands the
    GIL back and forth once per row.
    """
    if not rows:
        return
    if _copies(len(rows)):
        _copy(model, [column(model, name) for name in fields], rows)
        return
    # identifiers come from the model's own metadata, values are parameters
    head = f"INSERT INTO {table(model)} (" + ", ".join(column(model, name) for name in fields) + ") VALUES "
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            part = rows[start : start + _ROWS_PER_INSERT]
            cursor.execute(head + ", ".join([one] * len(part)), [value for row in part for value in row])


def _converter(field: Any) -> Any:
    """How one field's Python value becomes what the driver takes, decided once per field.

    The common types are converted directly (JSON with orjson, datetimes with the backend's own
    adapter, plain values as they are); any other field goes through ``get_db_prep_save`` as in
    Django. ``fast_create`` calls this per field, not per value."""
    if isinstance(field, models.JSONField) and field.encoder is None:
        import orjson

        def dumps(value: Any) -> str:
            return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()

        if connection.vendor == "postgresql":
            from psycopg.types.json import Jsonb

            return lambda value: None if value is None else Jsonb(value, dumps=dumps)
        return lambda value: None if value is None else dumps(value)

    def django(value: Any) -> Any:  # anything unusual: exactly as Django prepares it
        return field.get_db_prep_save(value, connection)

    if isinstance(field, models.DateTimeField):
        plain: Callable[[Any], Any] = connection.ops.adapt_datetimefield_value
        utc_text = connection.vendor == "sqlite" and connection.timezone is dt.UTC

        def adapt(value: dt.datetime) -> Any:
            # a UTC time on SQLite: its text without the offset, as the backend stores it, without
            # its ``make_naive`` round trip (3 % of a first import, 2026-12-07)
            return str(value.replace(tzinfo=None)) if utc_text and value.tzinfo is dt.UTC else plain(value)

        return lambda value: (
            value if value is None else adapt(value) if type(value) is dt.datetime else django(value)
        )
    kinds: tuple[type, ...] = ()
    if isinstance(field, (models.CharField, models.TextField)):
        kinds = (str,)
    elif isinstance(field, models.BooleanField):
        kinds = (bool,)
    elif isinstance(field, (models.IntegerField, models.ForeignKey)):  # a foreign key: its *_id value
        kinds = (int,)
    if kinds:
        return lambda value: value if value is None or type(value) in kinds else django(value)
    return django


def converter(model: type[Model], name: str) -> Callable[[Any], Any]:
    """How values of ``model.name`` become what the driver takes (for ``insert_rows``)."""
    return _converter(model._meta.get_field(name))  # type: ignore[no-any-return]


_CreatePlan = tuple[list[Any], list[str], str, str, list[Any], list[Any]]
_CREATE_PLANS: dict[tuple[type[Model], bool], _CreatePlan] = {}


def _create_plan(model: type[Model], with_pk: bool) -> _CreatePlan:
    """``fast_create``'s fields, converters and statement parts for ``model``, made once (the
    converters of the first connection serve every thread's: they read no per-connection state
    but the time zone, which is the same for all)."""
    key = (model, with_pk)
    plan = _CREATE_PLANS.get(key)
    if plan is None:
        fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
        head = (
            f"INSERT INTO {table(model)} ("
            + ", ".join(str(connection.ops.quote_name(str(f.column))) for f in fields)
            + ") VALUES "
        )
        plan = _CREATE_PLANS[key] = (
            [_converter(f) for f in fields],
            [f.attname for f in fields],
            head,
            "(" + ", ".join(["%s"] * len(fields)) + ")",
            [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)],
            [f for f in fields if f.is_relation and f.many_to_one],
        )
    return plan


def fast_create(objs: Sequence[M]) -> None:
    """``bulk_create`` for many new rows of one model, with their primary keys set, at a fraction
    of its cost: Django compiles every value of every row through its SQL compiler (half of a
    first import's time); this converts each field's values with one converter per field and
    sends multi-row INSERTs with ``RETURNING`` the keys (SQLite 3.35+ and PostgreSQL return them
    in the order of the rows, as Django's bulk_create relies on too). Defaults are applied by
    the model's constructor as usual, ``auto_now``/``auto_now_add`` times by their field, and a
    related object assigned before it was saved gives its key now, as in bulk_create."""
    if not objs:
        return
    model = type(objs[0])
    converters, names, head, one, stamped, related = _create_plan(
        model, getattr(objs[0], model._meta.pk.attname) is not None
    )
    returning = f" RETURNING {column(model, 'pk')}"
    for obj in objs if stamped else ():
        for field in stamped:
            field.pre_save(obj, True)
    for obj in objs if related else ():
        cached = obj._state.fields_cache
        for field in related:
            target = cached.get(field.name)
            if target is not None and getattr(obj, field.attname) is None:
                if target.pk is None:  # as bulk_create: never store NULL for an unsaved object
                    raise ValueError(f"fast_create: {field.name} is an unsaved {type(target).__name__}")
                setattr(obj, field.attname, target.pk)
    if _copies(len(objs)):
        _copy_created(model, objs, converters, names)
        return
    with connection.cursor() as cursor:
        for start in range(0, len(objs), _ROWS_PER_INSERT):
            part = objs[start : start + _ROWS_PER_INSERT]
            params = [
                value if convert is None else convert(value)
                for obj in part
                for convert, value in zip(converters, [getattr(obj, name) for name in names], strict=True)
            ]
            cursor.execute(head + ", ".join([one] * len(part)) + returning, params)
            for obj, (pk,) in zip(part, cursor.fetchall(), strict=True):
                obj.pk = pk
                obj._state.adding, obj._state.db = False, connection.alias


# On PostgreSQL many rows go in with COPY: Django's psycopg cursor binds parameters on the
# client, which parses a multi-row INSERT's text (too long for psycopg's cache) and quotes every
# value in Python, about 3 us a value: a third of a first import's time there (py-spy,
# 2026-12-07). COPY sends the rows as they are (0.1 us a value). Below COPY_FROM rows the extra
# round trip for the keys costs more than it saves.
COPY_FROM = 20


def _copies(rows: int) -> bool:
    return rows >= COPY_FROM and connection.vendor == "postgresql"


def _copy(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY the rows (tuples in the order of ``columns``, quoted names) into ``model``'s table."""
    # identifiers come from the model's own metadata; the rows are data, never SQL
    sql = f"COPY {table(model)} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _copy_created(model: type[Model], objs: Sequence[Any], converters: list[Any], names: list[str]) -> None:
    """``fast_create`` with COPY: the new rows' keys are drawn from the table's sequence first.

    Every value is converted before COPY starts: an error in a converter (a ValidationError) then
    leaves the transaction usable, as it does before an INSERT. The objects get their keys only
    once the rows are in, as with an INSERT."""
    pk = model._meta.pk
    rows = [
        [
            value if convert is None else convert(value)
            for convert, value in zip(converters, values, strict=True)
        ]
        for values in ([getattr(obj, name) for name in names] for obj in objs)
    ]
    keys: list[Any] = []
    if getattr(objs[0], pk.attname) is None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [connection.ops.quote_name(model._meta.db_table), pk.column, len(objs)],
            )
            keys = [key for (key,) in cursor.fetchall()]
        rows = [[key, *row] for key, row in zip(keys, rows, strict=True)]
        names = [pk.attname, *names]
    _copy(model, [column(model, name) for name in names], rows)
    for obj, key in zip(objs, keys, strict=False):  # none drawn when the objects had their keys
        setattr(obj, pk.attname, key)
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias


# How ``build`` fills a new instance of a model: its fields' constant defaults (by attribute
# name), the fields whose default is a callable, and the attribute names the constructor takes
# (a foreign key by its field name for an instance, by its ``*_id`` name for a key).
_Blueprint = tuple[dict[str, Any], list[tuple[str, Callable[[], Any]]], dict[str, str], frozenset[str]]
_BLUEPRINTS: dict[type[Model], _Blueprint] = {}


def _blueprint(model: type[Model]) -> _Blueprint:
    blueprint = _BLUEPRINTS.get(model)
    if blueprint is None:
        constant: dict[str, Any] = {}
        called: list[tuple[str, Callable[[], Any]]] = []
        relations: dict[str, str] = {}
        for field in model._meta.concrete_fields:
            if getattr(field, "generated", False):
                continue  # the database computes it, as Django's constructor leaves it unset
            if field.is_relation:  # a foreign key or one-to-one: the concrete relations
                relations[field.name] = field.attname
            if field.has_default() and callable(field.default):
                called.append((field.attname, field.default))
            else:  # a constant default, or None / "" as Django gives a field without one
                constant[field.attname] = field.get_default()
        names = frozenset(constant) | {name for name, _ in called}
        blueprint = _BLUEPRINTS[model] = (constant, called, relations, names)
    return blueprint


_SIGNALLED: dict[type[Model], bool] = {}


def _signalled(model: type[Model]) -> bool:
    """Something listens to the model's construction (pre_init/post_init): Django's own
    constructor must run (none of shopmail's models has such a listener). Decided once per
    model: such receivers (Django's own, e.g. an ImageField's) connect when the models load."""
    signalled = _SIGNALLED.get(model)
    if signalled is None:
        signalled = _SIGNALLED[model] = bool(
            signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)
        )
    return signalled


def build(model: type[M], **values: Any) -> M:
    """``model(**values)`` for the hot paths that make thousands of new rows (a first import:
    100,000 orders and their customers): the same instance, with the fields' defaults, a foreign
    key given as an instance or as its ``*_id`` key, without Django's constructor, which walks
    every field with its descriptors and sends two signals per instance (~10 % of a first
    import, 2026-12-07). Only concrete fields are taken: any other name is a TypeError, as in
    Django."""
    if _signalled(model):
        return model(**values)
    constant, called, relations, names = _blueprint(model)
    obj = _bare(model, constant)
    state = obj.__dict__
    for name, default in called:
        state[name] = default()
    for name, value in values.items():
        attname = relations.get(name)
        if attname is not None and (value is None or isinstance(value, Model)):
            state[attname] = None if value is None else value.pk
            if value is not None:
                obj._state.fields_cache[name] = value
        elif name in names:
            state[name] = value
        elif name == "pk":
            state[model._meta.pk.attname] = value
        else:
            raise TypeError(f"{model.__name__}() got an unexpected keyword argument {name!r}")
    return obj


def loaded(model: type[M], names: Sequence[str], values: Sequence[Any]) -> M:
    """``model.from_db(...)`` for a row of all concrete fields, without the constructor (``build``)."""
    if _signalled(model):
        return model.from_db(connection.alias, names, values)  # type: ignore[no-any-return]
    obj = _bare(model, zip(names, values, strict=True))
    obj._state.adding, obj._state.db = False, connection.alias
    return obj


def _bare(model: type[M], values: Any) -> M:
    """An instance of ``model`` holding ``values`` (attribute names and values) and a fresh
    ``_state``, made without the constructor (``build``, ``loaded``)."""
    obj = model.__new__(model)
    obj.__dict__.update(values)
    obj.__dict__["_state"] = ModelState()
    return obj


def select_list(model: type[Model], alias: str) -> str:
    """The model's concrete columns, in field order, for the SELECT whose rows ``instances`` takes."""
    key = (model, "." + alias)
    listed = _QUOTED.get(key)
    if listed is None:
        listed = _QUOTED[key] = ", ".join(
            f"{alias}.{connection.ops.quote_name(str(f.column))}" for f in model._meta.concrete_fields
        )
    return listed


_Converter = Callable[[Any, Any, Any], Any]
_CONVERTERS: dict[tuple[str, type[Model]], list[tuple[int, Any, list[_Converter]]]] = {}


def instances(model: type[M], rows: Iterable[Sequence[Any]]) -> list[M]:
    """Rows of ``select_list(model, ...)`` (and any columns after them, ignored) as model
    instances, through the converters Django's own queries apply (JSON text decoded, SQLite's
    times made aware). For per-request lookups by hand-written SQL: building a SELECT through the
    ORM costs 0.2-0.5 ms, more than the database takes to answer it."""
    fields = model._meta.concrete_fields
    key = (connection.vendor, model)
    converters = _CONVERTERS.get(key)
    if converters is None:
        converters = []
        for index, field in enumerate(fields):
            col = field.get_col(model._meta.db_table)
            functions = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if functions:
                converters.append((index, col, functions))
        _CONVERTERS[key] = converters
    names = [field.attname for field in fields]
    width = len(names)
    found = []
    for row in rows:
        values = list(row[:width])
        for index, col, functions in converters:
            value = values[index]
            for function in functions:
                value = function(value, col, connection)
            values[index] = value
        found.append(loaded(model, names, values))
    return found


def by_pk(model: type[M], pk: Any) -> M | None:
    """``model.objects.filter(pk=pk).first()`` by a hand-written SELECT (see ``instances``)."""
    sql = f"SELECT {select_list(model, 't')} FROM {table(model)} t WHERE t.{column(model, 'pk')} = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        return next(iter(instances(model, cursor.fetchall())), None)


def values_in(
    model: type[Model], columns: Sequence[str], key: str, keys: Iterable[Any], **equal: Any
) -> list[tuple[Any, ...]]:
    """``model.objects.filter(<key>__in=keys, **equal).values_list(*columns)`` by a hand-written
    SELECT, for plain text and number columns (no converters): a per-order lookup whose query
    the ORM took longer to build than the database to answer (issue 26). Keys in chunks."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return []
    # identifiers come from the model's own metadata, values are parameters
    sql = f"SELECT {', '.join(column(model, name) for name in columns)} FROM {table(model)} WHERE "
    sql += "".join(f"{column(model, name)} = %s AND " for name in equal)
    found: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), _CHUNK):
            part = wanted[start : start + _CHUNK]
            if connection.vendor == "postgresql":  # one array parameter: a short statement (see COPY_FROM)
                cursor.execute(sql + f"{column(model, key)} = ANY(%s)", [*equal.values(), part])
            else:
                cursor.execute(
                    sql + f"{column(model, key)} IN ({', '.join(['%s'] * len(part))})",
                    [*equal.values(), *part],
                )
            found.extend(tuple(row) for row in cursor.fetchall())
    return found
