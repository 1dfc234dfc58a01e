"""The Jinja sandbox templates run in: what they may read, call and load, and how much work
and output they may produce (counted against a per-render budget)."""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from functools import lru_cache, wraps
from typing import Any

from jinja2 import BaseLoader, Environment, StrictUndefined, TemplateNotFound, nodes, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from shopmail.mail.render import i18n
from shopmail.mail.render.inlining import inline_css
from shopmail.mail.render.sources import _PARTIALS_DIR, _partial_names, _read

MAX_SOURCE = 256 * 1024  # characters of one template part
MAX_OUTPUT = 512 * 1024  # characters of one rendered part
MAX_VALUE = MAX_OUTPUT  # any string or list a template builds
MAX_CHARS = 4 * MAX_OUTPUT  # characters produced in all, including inside macros and {% set %} blocks
MAX_WORK = 200_000  # loop iterations + calls + printed expressions, per part
MAX_RANGE = 10_000  # items of one range()
MAX_INT_BITS = 4096
# Per part: characters of every string the template builds (a bound on the memory and the work of
# string methods on large values: 2,000 title() calls on a 500 K string took 8.8 s) and the CPU
# time of the render (isalpha() on 500 K characters builds nothing and takes ~5 ms a call).
MAX_BUILT = 32 * MAX_OUTPUT
MAX_SECONDS = 2.0
_CLOCK_EVERY = 16  # steps between two reads of the CPU clock


class _Limit(Exception):
    """A template went over one of the sandbox's limits."""


class _Budget:
    __slots__ = ("built", "chars", "deadline", "next_clock", "work")

    def __init__(self) -> None:
        self.work = 0
        self.chars = 0
        self.built = 0
        self.deadline = time.thread_time() + MAX_SECONDS  # CPU time of this thread: load does not count
        self.next_clock = _CLOCK_EVERY  # the clock is read every few steps (a step is bounded in size)

    def spend(self, work: int, chars: int) -> None:
        self.work += work
        self.chars += chars
        if self.work > MAX_WORK:
            raise _Limit(f"the template does too much work (over {MAX_WORK} loop steps, calls and outputs)")
        if self.chars > MAX_CHARS:
            raise _Limit(f"output too large (over {MAX_CHARS} characters)")
        if self.work >= self.next_clock:
            self.next_clock = self.work + _CLOCK_EVERY
            if time.thread_time() > self.deadline:
                raise _Limit(f"the template takes too long to render (over {MAX_SECONDS:g} s)")

    def build(self, size: int) -> None:
        self.built += size
        if self.built > MAX_BUILT:
            raise _Limit(f"the template builds too much text (over {MAX_BUILT} characters in all)")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "shopmail_render_budget", default=None
)

_STR_METHODS = frozenset(
    [
        "upper",
        "lower",
        "title",
        "capitalize",
        "casefold",
        "swapcase",
        "strip",
        "lstrip",
        "rstrip",
        "startswith",
        "endswith",
        "split",
        "rsplit",
        "splitlines",
        "partition",
        "rpartition",
        "removeprefix",
        "removesuffix",
        "find",
        "rfind",
        "count",
        "isdigit",
        "isalpha",
        "isalnum",
        "isspace",
        "islower",
        "isupper",
        "istitle",
    ]
)
_DICT_METHODS = frozenset({"items", "keys", "values", "get"})
_SEQ_METHODS = frozenset({"index", "count"})
_FORMAT_WIDTH = re.compile(r"(\*|\d+)?(?:\.(\*|\d*))?")  # after %, the mapping key and the flags
# filters whose number arguments set the size of what they make
_SIZED_FILTERS = frozenset(
    {"center", "indent", "wordwrap", "truncate", "batch", "slice", "tojson", "replace"}
)


def _check_value(value: Any) -> Any:
    if isinstance(value, str | list | tuple | dict):
        if len(value) > MAX_VALUE:
            raise _Limit(f"value too large (over {MAX_VALUE} characters or items)")
        budget = _BUDGET.get()
        if budget is not None:
            budget.build(len(value))
    if type(value) is int and value.bit_length() > MAX_INT_BITS:
        raise _Limit("number too large")
    return value


def _format_numbers(fmt: str) -> Iterator[str]:
    """Width and precision of every ``%`` conversion in ``fmt``, parsed as Python parses them:
    a ``%(key)`` mapping key may hold nested parentheses (``%(a(b))300000000s`` has width
    300000000), so a regular expression that stops at the first ``)`` misses the width."""
    i, end = 0, len(fmt)
    while (i := fmt.find("%", i)) >= 0:
        i += 1
        if i < end and fmt[i] == "(":
            depth, i = 1, i + 1
            while i < end and depth:
                depth += {"(": 1, ")": -1}.get(fmt[i], 0)
                i += 1
        while i < end and fmt[i] in "-#0 +":
            i += 1
        match = _FORMAT_WIDTH.match(fmt, i)
        assert match is not None  # every part of the pattern is optional
        yield from (number for number in match.groups() if number)
        i = match.end()
        if i < end and fmt[i] in "hlL":
            i += 1
        i += 1  # the conversion character (or the second % of %%)


@lru_cache(maxsize=4096)
def _format_is_small(fmt: str) -> bool:
    """No width or precision in ``fmt`` would build a huge string. Cached: the formats are the
    translations of a template's literals, a small set (each e-mail formats ~40 of them)."""
    return all(number != "*" and int(number) <= MAX_RANGE for number in _format_numbers(fmt))


def _check_format(fmt: str) -> None:
    """Refuse a width or precision that would build a huge string, before it is built."""
    if not _format_is_small(fmt):
        raise _Limit("format width too large")


def _safe_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise _Limit(f"range too large (at most {MAX_RANGE} items)")
    return result


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    offset = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

    @wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        value = args[offset] if len(args) > offset else None
        extra = [*args[offset + 1 :], *kwargs.values()]
        if name in _SIZED_FILTERS:
            for arg in extra:
                if type(arg) is int and abs(arg) > MAX_RANGE:
                    raise _Limit(f"argument of filter {name!r} too large")
        if name == "replace" and len(extra) >= 2:
            old, new = str(extra[0]), str(extra[1])
            text = str(value)
            times = text.count(old) if old else len(text) + 1
            if len(text) + times * len(new) > MAX_VALUE:
                raise _Limit("value too large")
        elif name == "indent" and extra:
            width = extra[0] if type(extra[0]) is int else len(str(extra[0]))
            if (str(value).count("\n") + 1) * width > MAX_VALUE:
                raise _Limit("value too large")
        elif name == "format":
            _check_format(str(value))
        elif name == "join":
            items = list(value) if value is not None else []
            _check_value(items)
            args = (*args[:offset], items, *args[offset + 1 :])
            glue = len(str(extra[0])) if extra else 0
            if sum(len(str(item)) for item in items) + glue * len(items) > MAX_VALUE:
                raise _Limit("value too large")
        return _check_value(func(*args, **kwargs))

    return guarded


@pass_context
def _loop_guard(context: Context, iterable: Iterable[Any], static_chars: int) -> Iterator[Any]:
    budget = _BUDGET.get()
    for item in iterable:
        if budget is not None:
            budget.spend(1, static_chars)
        yield item


@pass_context
def _concat_guard(context: Context, value: Any) -> Any:
    return _check_value(value)


def _finalize(value: Any) -> Any:
    """Every printed value: None prints as nothing, and it counts against the budget."""
    if value is None:
        return ""
    budget = _BUDGET.get()
    if budget is not None:
        budget.work += 1
        budget.chars += len(value) if isinstance(value, str) else 8
        if budget.work > MAX_WORK or budget.chars > MAX_CHARS or budget.work >= budget.next_clock:
            budget.spend(0, 0)
    return value


class _Guard(NodeTransformer):
    """Counts every loop step (and the text it repeats) and caps every ``~`` concatenation."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        static = sum(len(data.data) for data in node.find_all(nodes.TemplateData))
        node.iter = nodes.Filter(
            node.iter, "_sm_loop", [nodes.Const(static)], [], None, None, lineno=node.lineno
        )
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(node, "_sm_cap", [], [], None, None, lineno=node.lineno)


def _translated(context: Context, text: str, variables: dict[str, Any]) -> str:
    """Jinja's "newstyle" gettext: the translation, escaped-aware, always %-formatted with the
    block's variables; a width in it (``_("%(x)900000000d", x=1)`` in a store's template) is
    refused before the string is built."""
    if "%" in text:
        _check_format(text)
    # as Jinja's own newstyle gettext: the message id is trusted as markup (a template's literal)
    return (Markup(text) if context.eval_ctx.autoescape else text) % variables  # noqa: S704


# The translation callables of the templates ({% trans %}, _(), gettext() ...), one function
# each rather than Jinja's wrapper around ours: a message has ~40 of these calls per part, and
# the wrapper made each of them two sandboxed calls (issue 26).
@pass_context
def _gettext(context: Context, message: str, /, **variables: Any) -> str:
    return _translated(context, i18n.gettext(context, message), variables)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, num: int, /, **variables: Any) -> str:
    variables.setdefault("num", num)
    return _translated(context, i18n.ngettext(context, singular, plural, num), variables)


@pass_context
def _pgettext(context: Context, message_context: str, message: str, /, **variables: Any) -> str:
    variables.setdefault("context", message_context)
    return _translated(context, i18n.pgettext(context, message_context, message), variables)


@pass_context
def _npgettext(
    context: Context, message_context: str, singular: str, plural: str, num: int, /, **variables: Any
) -> str:
    variables.setdefault("context", message_context)
    variables.setdefault("num", num)
    return _translated(context, i18n.npgettext(context, message_context, singular, plural, num), variables)


_I18N_CALLABLES = {"gettext": _gettext, "ngettext": _ngettext, "pgettext": _pgettext, "npgettext": _npgettext}


class _PackagedLoader(BaseLoader):
    """Only the packaged layouts and partials (``en/layout.html``, ``macros.html``, ...)."""

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool]]:
        if template not in _partial_names():
            raise TemplateNotFound(template)
        source = _read(f"{_PARTIALS_DIR}/{template}") or ""
        if template.endswith(".html"):
            source = inline_css(source)[0]
        return source, None, lambda: True


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, tightened for templates that store staff write.

    Attribute access: dict keys first; on dicts only items/keys/values/get, on lists
    index/count, on strings only non-growing methods (no ``format``). Operators that can
    grow values (``*``, ``**``, ``%``, ``+``) and every filter are size-checked; loop steps,
    calls and printed expressions are counted against a per-render budget.
    """

    intercepted_binops = frozenset({"*", "**", "%", "+", "//"})

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(
            loader=_PackagedLoader(),
            autoescape=autoescape,
            undefined=StrictUndefined,
            finalize=_finalize,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
            cache_size=200,
            extensions=["jinja2.ext.i18n"],
        )
        # {% trans %} and _(): the sentences of converted templates, in the message's language
        self.policies["ext.i18n.trimmed"] = True
        self.newstyle_gettext = True  # type: ignore[attr-defined]
        self.globals.update(_I18N_CALLABLES)
        for name in ("lipsum", "namespace"):
            self.globals.pop(name, None)
        self.globals["range"] = _safe_range
        self.filters = {name: _guard_filter(name, func) for name, func in self.filters.items()}
        self.filters["_sm_loop"] = _loop_guard
        self.filters["_sm_cap"] = _concat_guard

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = _Guard().visit(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, str):
            return attr in _STR_METHODS
        if isinstance(obj, dict):
            return attr in _DICT_METHODS
        if isinstance(obj, list | tuple):
            return attr in _SEQ_METHODS
        return not isinstance(obj, int | float | Decimal | bytes | set | frozenset)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def wrap_str_format(self, value: Any) -> None:
        return None  # str.format is not offered at all (see is_safe_attribute)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            if attribute in obj:
                return obj[attribute]
            if attribute not in _DICT_METHODS:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(left, int | float) and isinstance(right, int | float):
            if abs(right) > 1024 or (
                type(left) is int and right > 0 and left.bit_length() * right > MAX_INT_BITS
            ):
                raise _Limit("number too large")
        elif operator == "*":
            if isinstance(left, str | list | tuple) and type(right) is int:
                if len(left) * right > MAX_VALUE:
                    raise _Limit(f"value too large (over {MAX_VALUE} characters or items)")
            elif isinstance(right, str | list | tuple) and type(left) is int:
                if len(right) * left > MAX_VALUE:
                    raise _Limit(f"value too large (over {MAX_VALUE} characters or items)")
            elif (
                type(left) is int
                and type(right) is int
                and left.bit_length() + right.bit_length() > MAX_INT_BITS
            ):
                raise _Limit("number too large")
        elif operator == "%" and isinstance(left, str):
            _check_format(left)
        return _check_value(self.binop_table[operator](left, right))

    def call(self, __context: Context, __obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget = _BUDGET.get()
        if budget is not None:
            budget.spend(1, 0)
        if __obj is _gettext or __obj is _pgettext or __obj is _ngettext or __obj is _npgettext:
            # ours, and safe: called directly, with the context Jinja's Context.call would pass
            loop_vars, block_vars = kwargs.pop("_loop_vars", None), kwargs.pop("_block_vars", None)
            if loop_vars:
                __context = __context.derived(loop_vars)
            if block_vars:
                __context = __context.derived(block_vars)
            return _check_value(__obj(__context, *args, **kwargs))
        return _check_value(super().call(__context, __obj, *args, **kwargs))
