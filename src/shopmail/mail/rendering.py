"""Rendering e-mails from sandboxed Jinja2 templates (SPEC section 6).

Plain Python: no Django, no I/O beyond reading the packaged default templates.

* ``build_context`` turns an order snapshot, a customer and the store settings into the
  plain, already formatted data a template sees (dates and amounts in the e-mail's language).
* ``render`` renders subject, text and HTML; ``validate`` is what the template editor runs.
* Templates run in an ``ImmutableSandboxedEnvironment`` with ``StrictUndefined`` and hard
  limits on work and output size (see ``_Sandbox``): a template can read its context and
  nothing else, cannot call code, and cannot exhaust memory or loop forever.
* CSS is inlined once per template version, when a template's source is compiled, never per
  message: Jinja tags are swapped for placeholders an HTML parser keeps in place, css-inline
  runs on that, and the tags are put back (``inline_css``). Compiled templates are cached by
  a hash of their source.
"""

# ruff: noqa: RUF001 - translated prose uses typographic dashes and quotes on purpose
from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import re
import textwrap
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache, wraps
from importlib import resources
from typing import Any, NamedTuple

import css_inline
import inscriptis
from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency, format_decimal
from jinja2 import (
    BaseLoader,
    Environment,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
    meta,
    nodes,
    pass_context,
)
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer
from markupsafe import Markup, escape

from shopmail.domain.changes import effective_date, shipped_quantities
from shopmail.mail.notifications import DEFAULT_LANGUAGE, LANGUAGES, Notification
from shopmail.mail.notifications import get as get_notification

PARTS = ("subject", "text", "html")
DEFAULT_BRAND_COLOR = "#1f6feb"
LOCALES = {"en": "en_GB", "nb": "nb_NO", "de": "de_DE"}

MAX_SOURCE = 256 * 1024  # characters of one template part
MAX_OUTPUT = 512 * 1024  # characters of one rendered part
MAX_VALUE = MAX_OUTPUT  # any string or list a template builds
MAX_CHARS = 4 * MAX_OUTPUT  # characters produced in all, including inside macros and {% set %} blocks
MAX_WORK = 200_000  # loop iterations + calls + printed expressions, per part
MAX_RANGE = 10_000  # items of one range()
MAX_INT_BITS = 4096


# --------------------------------------------------------------------------- public types


class TemplateSource(NamedTuple):
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class TemplateProblem:
    part: str  # "subject" | "text" | "html"
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.part}, line {self.line}" if self.line else self.part
        return f"{where}: {self.reason}"


class TemplateRenderError(Exception):
    def __init__(self, problems: Sequence[TemplateProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


class _Limit(Exception):
    """A template went over one of the sandbox's limits."""


# --------------------------------------------------------------------------- the sandbox


class _Budget:
    __slots__ = ("chars", "work")

    def __init__(self) -> None:
        self.work = 0
        self.chars = 0

    def spend(self, work: int, chars: int) -> None:
        self.work += work
        self.chars += chars
        if self.work > MAX_WORK:
            raise _Limit(f"the template does too much work (over {MAX_WORK} loop steps, calls and outputs)")
        if self.chars > MAX_CHARS:
            raise _Limit(f"output too large (over {MAX_CHARS} characters)")


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
_FORMAT_WIDTH = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
# filters whose number arguments set the size of what they make
_SIZED_FILTERS = frozenset(
    {"center", "indent", "wordwrap", "truncate", "batch", "slice", "tojson", "replace"}
)


def _check_value(value: Any) -> Any:
    if isinstance(value, str | list | tuple | dict) and len(value) > MAX_VALUE:
        raise _Limit(f"value too large (over {MAX_VALUE} characters or items)")
    if type(value) is int and value.bit_length() > MAX_INT_BITS:
        raise _Limit("number too large")
    return value


def _check_format(fmt: str) -> None:
    for match in _FORMAT_WIDTH.finditer(fmt):
        for number in match.groups():
            if number == "*" or (number and int(number) > MAX_RANGE):
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
        if budget.work > MAX_WORK or budget.chars > MAX_CHARS:
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
        )
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
        return _check_value(super().call(__context, __obj, *args, **kwargs))


# --------------------------------------------------------------------------- packaged files


_PARTIALS_DIR = "_layout"


def _emails() -> Any:
    return resources.files("shopmail").joinpath("emails")


@cache
def _read(path: str) -> str | None:
    node = _emails().joinpath(*path.split("/"))
    return node.read_text(encoding="utf-8") if node.is_file() else None


@cache
def _partial_names() -> frozenset[str]:
    names: set[str] = set()

    def walk(node: Any, prefix: str) -> None:
        for child in node.iterdir():
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith((".html", ".txt")):
                names.add(prefix + child.name)

    walk(_emails().joinpath(_PARTIALS_DIR), "")
    return frozenset(names)


def _stylesheet() -> str:
    return _read(f"{_PARTIALS_DIR}/email.css") or ""


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


@cache
def default_source(notification: str, language: str) -> TemplateSource:
    """The packaged default template of a notification, in ``language`` or else English."""
    get_notification(notification)
    for lang in dict.fromkeys((language, DEFAULT_LANGUAGE)):
        parts = [_read(f"{notification}/{lang}/{name}") for name in ("subject.txt", "body.txt", "body.html")]
        if all(part is not None for part in parts):
            subject, text, html = (part or "" for part in parts)
            return TemplateSource(subject.strip(), text, html)
    raise LookupError(f"no default template for {notification!r}")


# --------------------------------------------------------------------------- CSS inlining

_JINJA = re.compile(
    r"\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\}|\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}",
    re.DOTALL,
)
_RAW_ELEMENTS = frozenset({"script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes"})
_DOCUMENT = re.compile(r"^\s*(?:<!--(?:[^-]|-(?!->))*-->\s*)*<(?:!doctype|html)", re.IGNORECASE)
_PLACEHOLDER = re.compile(r'<!--SMJ(\d+)-->|\s?smj-attr-(\d+)(?:="")?|__SMJ(\d+)__')


class _Scanner:
    """Just enough of an HTML tokenizer to know where a Jinja tag stands."""

    def __init__(self) -> None:
        self.state = "data"  # data | tag | comment | raw | decl
        self.quote = ""
        self.name = ""
        self.reading_name = False
        self.end_tag = False
        self.tag_no = 0

    def where(self) -> str:
        if self.state == "data":
            return "data"
        if self.state == "tag" and not self.quote:
            return "attr"
        if self.state == "raw" and self.name == "style":
            return "style"
        return "text"

    def feed(self, text: str) -> None:
        i, n = 0, len(text)
        while i < n:
            if self.state == "data":
                j = text.find("<", i)
                if j < 0:
                    return
                following = text[j + 1 : j + 2]
                if text.startswith("<!--", j):
                    self.state, i = "comment", j + 4
                elif following in ("!", "?"):
                    self.state, i = "decl", j + 2
                elif following == "/" and text[j + 2 : j + 3].isalpha():
                    self._open(end=True)
                    i = j + 2
                elif following.isalpha():
                    self._open(end=False)
                    i = j + 1
                else:
                    i = j + 1
            elif self.state == "comment":
                j = text.find("-->", i)
                if j < 0:
                    return
                self.state, i = "data", j + 3
            elif self.state == "decl":
                j = text.find(">", i)
                if j < 0:
                    return
                self.state, i = "data", j + 1
            elif self.state == "raw":
                j = text.lower().find("</" + self.name, i)
                if j < 0:
                    return
                self._open(end=True)
                self.reading_name = False
                i = j + 2 + len(self.name)
            else:
                char = text[i]
                i += 1
                if self.reading_name:
                    if char.isalnum() or char in "-:":
                        self.name += char.lower()
                        continue
                    self.reading_name = False
                if self.quote:
                    if char == self.quote:
                        self.quote = ""
                elif char in "\"'":
                    self.quote = char
                elif char == ">":
                    self.state = "raw" if not self.end_tag and self.name in _RAW_ELEMENTS else "data"

    def _open(self, *, end: bool) -> None:
        self.state, self.end_tag, self.quote = "tag", end, ""
        self.name, self.reading_name = "", True
        self.tag_no += 1


def _protect(source: str) -> tuple[str, list[str], list[str], list[int]]:
    """Swap Jinja tags for placeholders: returns the new source, the tags, where each stood
    (data, attr, style or text) and the order of the tags between elements."""
    scanner = _Scanner()
    spans: list[tuple[int, int, str, int]] = []
    position = 0
    for match in _JINJA.finditer(source):
        scanner.feed(source[position : match.start()])
        spans.append((match.start(), match.end(), scanner.where(), scanner.tag_no))
        position = match.end()
    out: list[str] = []
    pieces: list[str] = []
    kinds: list[str] = []
    data_order: list[int] = []
    position = index = 0
    while index < len(spans):
        start, end, where, tag_no = spans[index]
        index += 1
        if where == "attr":  # one placeholder for all template logic inside one start tag
            while index < len(spans) and spans[index][3] == tag_no and spans[index][2] != "data":
                if spans[index][2] == "attr":
                    end = spans[index][1]
                index += 1
        out.append(source[position:start])
        number = len(pieces)
        pieces.append(source[start:end])
        kinds.append(where)
        if where == "data":
            data_order.append(number)
            out.append(f"<!--SMJ{number}-->")
        elif where == "attr":
            out.append(f" smj-attr-{number} ")
        else:
            out.append(f"__SMJ{number}__")
        position = end
    out.append(source[position:])
    return "".join(out), pieces, kinds, data_order


@lru_cache(maxsize=8)
def _inliners() -> tuple[css_inline.CSSInliner, css_inline.CSSInliner]:
    common: dict[str, Any] = {"load_remote_stylesheets": False, "keep_link_tags": False, "minify_css": True}
    document = css_inline.CSSInliner(extra_css=_stylesheet(), keep_at_rules=True, **common)
    fragment = css_inline.CSSInliner(**common)
    return document, fragment


@lru_cache(maxsize=256)
def inline_css(source: str) -> tuple[str, str | None]:
    """Inline the e-mail stylesheet and the template's own ``<style>`` into a template source.

    Returns the new source and None, or the source unchanged and the reason it could not be
    done (a statement tag inside ``<style>``, or HTML the parser would rearrange). An
    expression inside ``<style>`` (``color: {{ store.brand_color }}``) ends up in the style
    attribute of every element the rule matches.
    """
    if "<" not in source:
        return source, None
    protected, pieces, kinds, data_order = _protect(source)
    document, fragment = _inliners()
    try:
        if _DOCUMENT.match(protected):
            result = document.inline(protected)
        else:
            result = fragment.inline_fragment(protected, _stylesheet())
    except (css_inline.InlineError, ValueError) as exc:
        return source, f"the CSS could not be inlined: {exc}"
    seen: list[int] = []

    def restore(match: re.Match[str]) -> str:
        comment, attr, text = match.groups()
        number = int(comment or attr or text)
        seen.append(number)
        if number >= len(pieces):
            return match.group(0)
        return " " + pieces[number] if attr else pieces[number]

    if _JINJA.search(result):  # e.g. "&#123;&#123;" decoded by the parser into a template tag
        return source, "the CSS could not be inlined: the HTML spells out template tags with entities"
    restored = _PLACEHOLDER.sub(restore, result)
    counts = Counter(seen)
    data = set(data_order)
    if (
        any(number >= len(pieces) for number in counts)
        or any(
            counts[number] != 1 and not (kind == "style" and piece.startswith("{{"))
            for number, (piece, kind) in enumerate(zip(pieces, kinds, strict=True))
        )
        or [number for number in seen if number in data] != data_order
    ):
        return source, (
            "the CSS could not be inlined: a {% %} tag inside <style>, or HTML that is not "
            "well-formed (e.g. text directly inside <table>)"
        )
    return restored, None


# --------------------------------------------------------------------------- compiling


_ENVIRONMENTS: dict[bool, _Sandbox] = {}
_COMPILED: OrderedDict[tuple[str, bool, str], Template] = OrderedDict()
_COMPILED_MAX = 512
_LOCK = threading.Lock()


def _environment(part: str) -> _Sandbox:
    autoescape = part == "html"
    env = _ENVIRONMENTS.get(autoescape)
    if env is None:
        env = _ENVIRONMENTS.setdefault(autoescape, _Sandbox(autoescape=autoescape))
    return env


def _compile(part: str, source: str, *, inline: bool = True) -> Template:
    """The compiled template of ``source`` (CSS inlined for HTML), cached by a hash of it."""
    inline = inline and part == "html"
    key = (part, inline, hashlib.sha256(source.encode()).hexdigest())
    with _LOCK:
        template = _COMPILED.get(key)
        if template is not None:
            _COMPILED.move_to_end(key)
            return template
    code = inline_css(source)[0] if inline else source
    template = _environment(part).from_string(code)
    with _LOCK:
        _COMPILED[key] = template
        while len(_COMPILED) > _COMPILED_MAX:
            _COMPILED.popitem(last=False)
    return template


def _run(template: Template, context: Mapping[str, Any]) -> str:
    """Render under a fresh budget. What a render can produce is bounded while it runs (the
    budget counts printed values and the text repeated by loops), so the size of the whole
    result is checked once at the end."""
    token = _BUDGET.set(_Budget())
    try:
        result = template.render(context)
    finally:
        _BUDGET.reset(token)
    if len(result) > MAX_OUTPUT:
        raise _Limit(f"output too large (over {MAX_OUTPUT} characters)")
    return result


def _error_line(exc: BaseException) -> int | None:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TemplateSyntaxError):
        where = f" (in {exc.name})" if exc.name else ""
        return f"{exc.message}{where}"
    if isinstance(exc, SecurityError):
        return f"not allowed: {exc}"
    if isinstance(exc, UndefinedError):
        return f"unknown variable: {exc.message}"
    if isinstance(exc, _Limit):
        return str(exc)
    if isinstance(exc, TemplateNotFound):
        return f"no such template to include: {exc.name}"
    if isinstance(exc, RecursionError):
        return "too deeply nested (recursion)"
    if isinstance(exc, MemoryError):
        return "output too large (out of memory)"
    return f"{type(exc).__name__}: {exc}"


def _problem(part: str, exc: BaseException) -> TemplateProblem:
    if isinstance(exc, TemplateSyntaxError) and exc.name is None:
        return TemplateProblem(part, exc.lineno, _reason(exc))
    return TemplateProblem(part, _error_line(exc), _reason(exc))


def _render_part(part: str, source: str, context: Mapping[str, Any]) -> str:
    if len(source) > MAX_SOURCE:
        raise TemplateRenderError(
            [TemplateProblem(part, None, f"template too large (over {MAX_SOURCE} characters)")]
        )
    try:
        return _run(_compile(part, source), context)
    except Exception as exc:
        problem, syntax = _problem(part, exc), isinstance(exc, TemplateSyntaxError)
    if part == "html" and not syntax:
        try:  # line numbers of the source as written, not of the CSS-inlined one
            _run(_compile(part, source, inline=False), context)
        except Exception as plain:
            problem = _problem(part, plain)
    raise TemplateRenderError([problem])


_BLANK_LINES = re.compile(r"\n{3,}")


_HANGING = re.compile(r"^(\s*(?:[-*•]\s+|\d+[.)]\s+)?)")
TEXT_WIDTH = 72


def _wrap(line: str) -> str:
    """A line longer than 72 columns, wrapped under its own indent or list bullet; URLs stay whole."""
    if len(line) <= TEXT_WIDTH:
        return line
    hanging = " " * len(_HANGING.match(line).group(1))  # type: ignore[union-attr]
    wrapped = textwrap.wrap(
        line, width=TEXT_WIDTH, subsequent_indent=hanging, break_long_words=False, break_on_hyphens=False
    )
    return "\n".join(wrapped) or line


def _tidy_text(text: str) -> str:
    """Plain text for mail: LF line ends, no trailing blanks, at most one empty line in a row,
    lines wrapped at 72 columns."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    text = "\n".join(_wrap(line.rstrip(" \t")) for line in lines)
    return _BLANK_LINES.sub("\n\n", text).strip("\n") + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _text_to_html(text: str) -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0;padding:16px;">'
        '<pre style="font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:22px;'
        f'white-space:pre-wrap;word-wrap:break-word;">{escape(text)}</pre></body></html>'
    )


def _with_custom_message(rendered: Rendered, message: str) -> Rendered:
    """Every e-mail carries the custom message staff gave (SPEC 6), even from a template that forgot it."""
    message = message.strip()
    if not message:
        return rendered
    first = message.splitlines()[0].strip()
    text, html = rendered.text, rendered.html
    if first not in text:
        text = f"{message}\n\n{'-' * 72}\n\n{text}"
    if str(escape(first)) not in html:
        block = (
            '<div style="margin:0 0 16px;padding:16px;background-color:#fff8e1;border-left:4px solid #f59e0b;'
            'font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:24px;color:#1f2328;">'
            + "<br>".join(str(escape(line)) for line in message.splitlines())
            + "</div>"
        )
        match = re.search(r"<body[^>]*>", html, re.IGNORECASE)
        html = html[: match.end()] + block + html[match.end() :] if match else block + html
    return Rendered(rendered.subject, text, html)


def render(
    notification: str,
    language: str,
    context: Mapping[str, Any],
    source: TemplateSource | None = None,
) -> Rendered:
    """Render subject, text and HTML of ``notification`` against ``context`` (see build_context).

    ``source`` is a store's own template (from the database); without it the packaged default
    in ``language`` is used. An empty text part is made from the HTML and vice versa; an empty
    subject falls back to the default subject. Raises TemplateRenderError naming every problem.
    """
    get_notification(notification)
    default = default_source(notification, language)
    source = source or default
    problems: list[TemplateProblem] = []
    results: dict[str, str] = {}
    for part, text in zip(PARTS, source, strict=True):
        if not text.strip():
            if part == "subject":
                text = default.subject
            else:
                results[part] = ""
                continue
        try:
            results[part] = _render_part(part, text, context)
        except TemplateRenderError as exc:
            problems.extend(exc.problems)
    if problems:
        raise TemplateRenderError(problems)
    html, text = results["html"], results["text"]
    if not html.strip() and not text.strip():
        raise TemplateRenderError([TemplateProblem("text", None, "the text and HTML parts are both empty")])
    if not text.strip():
        text = inscriptis.get_text(html)
    if not html.strip():
        html = _text_to_html(text)
    rendered = Rendered(_one_line(results["subject"]), _tidy_text(text), html)
    return _with_custom_message(rendered, str(context.get("custom_message") or ""))


# --------------------------------------------------------------------------- validation


def _first_line(tree: nodes.Template, name: str) -> int | None:
    for node in tree.find_all(nodes.Name):
        if node.name == name and node.ctx == "load":
            return node.lineno
    return None


def _assigned_names(tree: nodes.Template) -> set[str]:
    names = {node.name for node in tree.find_all(nodes.Name) if node.ctx in ("store", "param")}
    names.update(node.target for node in tree.find_all(nodes.Import))
    for node in tree.find_all(nodes.FromImport):
        names.update(item if isinstance(item, str) else item[1] for item in node.names)
    names.update(node.name for node in tree.find_all(nodes.Macro))
    return names


def _chain(node: nodes.Expr) -> tuple[str, list[str]] | None:
    path: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            path.append(node.attr)
            node = node.node
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            path.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name) and node.ctx == "load":
            return node.name, path[::-1]
        else:
            return None


def _static_problems(
    part: str, tree: nodes.Template, allowed: frozenset[str], context: Mapping[str, Any]
) -> list[TemplateProblem]:
    """Unknown variables and fields, also in branches the sample order does not take."""
    assigned = _assigned_names(tree)  # Jinja reports names set in one branch only as undeclared too
    problems = [
        TemplateProblem(part, _first_line(tree, name), f"unknown variable '{name}'")
        for name in sorted(meta.find_undeclared_variables(tree) - allowed - assigned)
    ]
    seen: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        chain = _chain(node)
        if chain is None or chain[0] in assigned or chain[0] not in context:
            continue
        value: Any = context[chain[0]]
        for depth, attr in enumerate(chain[1]):
            if not isinstance(value, dict):
                break
            if attr not in value:
                if attr not in _DICT_METHODS:
                    path = ".".join([chain[0], *chain[1][: depth + 1]])
                    if path not in seen:
                        seen.add(path)
                        problems.append(TemplateProblem(part, node.lineno, f"unknown variable '{path}'"))
                break
            value = value[attr]
    return problems


def validate(notification: str, source: TemplateSource, language: str = "en") -> list[TemplateProblem]:
    """What the template editor refuses: syntax errors, unknown variables, sandbox violations,
    output over the limits, and HTML whose CSS cannot be inlined. Each with its line."""
    spec = get_notification(notification)
    context = sample_context(notification, language)
    context["custom_message"] = _SAMPLE_CUSTOM_MESSAGE.get(language, _SAMPLE_CUSTOM_MESSAGE["en"])
    problems: list[TemplateProblem] = []
    for part, text in zip(PARTS, source, strict=True):
        if part == "subject" and not text.strip():
            problems.append(TemplateProblem(part, None, "the subject is empty"))
            continue
        if len(text) > MAX_SOURCE:
            problems.append(TemplateProblem(part, None, f"template too large (over {MAX_SOURCE} characters)"))
            continue
        env = _environment(part)
        try:
            tree = env.parse(text)
        except TemplateSyntaxError as exc:
            problems.append(_problem(part, exc))
            continue
        static = _static_problems(part, tree, spec.top_level | frozenset(env.globals), context)
        problems.extend(static)
        if part == "html":
            reason = inline_css(text)[1]
            if reason:
                problems.append(TemplateProblem(part, None, reason))
        if not static:
            try:
                _run(_compile(part, text, inline=False), context)
            except Exception as exc:
                problems.append(_problem(part, exc))
    if not source.text.strip() and not source.html.strip():
        problems.append(TemplateProblem("text", None, "the text and HTML parts are both empty"))
    return problems


# --------------------------------------------------------------------------- formatting


def _language(language: str | None, fallback: str | None = None) -> str:
    for candidate in (language, fallback):
        code = str(candidate or "").lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def _to_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _format_date(value: str, language: str) -> str:
    day = _to_date(value)
    return format_date(day, format="medium", locale=LOCALES[language]) if day else value


def _date(value: Any, language: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dt.date):
        value = value.isoformat()
    return _format_date(str(value), language)


@lru_cache(maxsize=4096)
def _format_money(value: str, currency: str, language: str) -> str:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return value
    locale = LOCALES[language]
    if not currency:
        return format_decimal(amount, format="#,##0.00", locale=locale)
    try:
        return format_currency(amount, currency, locale=locale)
    except Exception:  # an unknown currency code: the amount and the code as given
        return f"{format_decimal(amount, format='#,##0.00', locale=locale)} {currency}"


def _money(value: Any, currency: str, language: str) -> str:
    if value is None or value == "":
        return ""
    return _format_money(str(value), currency, language)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _url(value: Any) -> str:
    """Links only with http(s) or mailto, so no template can be made to link to javascript:."""
    text = _str(value).strip()
    return text if re.match(r"(?i)^(https?://|mailto:)", text) else ""


def _brand_color(value: Any) -> str:
    text = _str(value).strip()
    return text if re.fullmatch(r"#(?:[0-9a-fA-F]{3}){1,2}", text) else DEFAULT_BRAND_COLOR


@lru_cache(maxsize=512)
def _country(code: str, language: str) -> str:
    if re.fullmatch(r"[A-Za-z]{2}", code):
        return str(Locale.parse(LOCALES[language]).territories.get(code.upper(), code))
    return code


_ADDRESS_FIELDS = {
    "name": ("name", "full_name"),
    "company": ("company", "company_name"),
    "address1": ("address1", "address_1", "line1", "street", "street_address"),
    "address2": ("address2", "address_2", "line2"),
    "postcode": ("postcode", "postal_code", "zip", "zip_code"),
    "city": ("city", "town"),
    "region": ("region", "state", "province", "county"),
    "country": ("country", "country_code"),
    "phone": ("phone",),
}


def _address(value: Any, language: str) -> dict[str, Any]:
    raw = value if isinstance(value, Mapping) else {}
    out: dict[str, Any] = {
        key: next((_str(raw[alias]).strip() for alias in aliases if raw.get(alias)), "")
        for key, aliases in _ADDRESS_FIELDS.items()
    }
    if not out["name"]:
        out["name"] = " ".join(_str(raw.get(k)).strip() for k in ("first_name", "last_name") if raw.get(k))
    out["country"] = _country(out["country"], language) if out["country"] else ""
    town = " ".join(part for part in (out["postcode"], out["city"]) if part)
    out["lines"] = [
        part
        for part in (
            out["name"],
            out["company"],
            out["address1"],
            out["address2"],
            town,
            out["region"],
            out["country"],
        )
        if part
    ]
    return out


# --------------------------------------------------------------------------- describing changes

_CHANGE_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "status_changed": "The status of your order is now “{status}”",
        "delivery_note_printed": "The delivery note has been printed and your order is being prepared for"
        " shipping",
        "picked": "Your order has been picked",
        "shipment_number_entered": "Your parcel sent with {carrier} now has tracking number {number}",
        "shipment_number_entered_plain": "Your parcel now has tracking number {number}",
        "delivered_quantity_changed": "{name}: {after} of {quantity} delivered so far",
        "delivered_in_full": "{name} has been delivered in full",
        "date_moved": "Expected delivery of {name} moved from {before} to {after}",
        "date_set": "{name} is now expected to be delivered on {after}",
        "date_unset": "We no longer have an expected delivery date for {name}; we will let you know as soon"
        " as we do",
        "order_date_moved": "Expected delivery of your order moved from {before} to {after}",
        "order_date_set": "Your order is now expected to be delivered on {after}",
        "order_date_unset": "We no longer have an expected delivery date for your order; we will let you know"
        " as soon as we do",
        "back_in_stock": "{name} is back in stock",
    },
    "nb": {
        "status_changed": "Bestillingen din har nå status «{status}»",
        "delivery_note_printed": "Følgeseddelen er skrevet ut, og bestillingen din gjøres klar for sending",
        "picked": "Varene i bestillingen din er plukket",
        "shipment_number_entered": "Pakken din som sendes med {carrier}, har nå sporingsnummer {number}",
        "shipment_number_entered_plain": "Pakken din har nå sporingsnummer {number}",
        "delivered_quantity_changed": "{name}: {after} av {quantity} er levert så langt",
        "delivered_in_full": "{name} er levert i sin helhet",
        "date_moved": "Forventet levering av {name} er flyttet fra {before} til {after}",
        "date_set": "{name} ventes nå levert {after}",
        "date_unset": "Vi har ikke lenger noen forventet leveringsdato for {name}, men gir beskjed så snart"
        " vi vet mer",
        "order_date_moved": "Forventet levering av bestillingen din er flyttet fra {before} til {after}",
        "order_date_set": "Bestillingen din ventes nå levert {after}",
        "order_date_unset": "Vi har ikke lenger noen forventet leveringsdato for bestillingen din, men gir"
        " beskjed så snart vi vet mer",
        "back_in_stock": "{name} er på lager igjen",
    },
    "de": {
        "status_changed": "Ihre Bestellung hat jetzt den Status „{status}“",
        "delivery_note_printed": "Der Lieferschein ist gedruckt – Ihre Bestellung wird für den Versand"
        " vorbereitet",
        "picked": "Die Artikel Ihrer Bestellung wurden kommissioniert",
        "shipment_number_entered": "Ihr Paket mit {carrier} hat jetzt die Sendungsnummer {number}",
        "shipment_number_entered_plain": "Ihr Paket hat jetzt die Sendungsnummer {number}",
        "delivered_quantity_changed": "{name}: {after} von {quantity} bisher geliefert",
        "delivered_in_full": "{name} wurde vollständig geliefert",
        "date_moved": "Die voraussichtliche Lieferung von {name} verschiebt sich vom {before} auf den"
        " {after}",
        "date_set": "{name} wird voraussichtlich am {after} geliefert",
        "date_unset": "Für {name} gibt es derzeit keinen voraussichtlichen Liefertermin – wir melden uns,"
        " sobald wir mehr wissen",
        "order_date_moved": "Die voraussichtliche Lieferung Ihrer Bestellung verschiebt sich vom {before} auf"
        " den {after}",
        "order_date_set": "Ihre Bestellung wird voraussichtlich am {after} geliefert",
        "order_date_unset": "Für Ihre Bestellung gibt es derzeit keinen voraussichtlichen Liefertermin – wir"
        " melden uns, sobald wir mehr wissen",
        "back_in_stock": "{name} ist wieder auf Lager",
    },
}


def _short_dates(before: Any, after: Any, language: str) -> tuple[str, str]:
    """Two dates in words; without the year when both fall in the same one ("3 Dec" to "9 Dec"),
    with no-break spaces."""
    first, second = _to_date(before) if before else None, _to_date(after) if after else None
    if first and second and first.year == second.year:
        locale = LOCALES[language]
        pair = format_skeleton("dMMM", first, locale=locale), format_skeleton("dMMM", second, locale=locale)
    else:
        pair = _date(before, language), _date(after, language)
    return pair[0].replace(" ", "\u00a0"), pair[1].replace(" ", "\u00a0")  # a date is not broken over lines


def describe_change(change: Mapping[str, Any], language: str, order: Mapping[str, Any] | None) -> str:
    """An order-update change in the customer's words and language."""
    language = _language(language)
    words = _CHANGE_TEXT[language]
    rule = _str(change.get("rule"))
    before, after = change.get("before"), change.get("after")
    lines = {
        _str(line.get("id")): line for line in (order or {}).get("lines") or () if isinstance(line, Mapping)
    }
    line = lines.get(_str(change.get("line"))) if change.get("line") is not None else None
    name = _str((line or {}).get("name") or (line or {}).get("sku")) if line else ""
    if rule == "status_changed":
        status = _str(after)
        if order and order.get("status") == after and order.get("status_label"):
            status = _str(order.get("status_label"))
        return words[rule].format(status=status)
    if rule in ("delivery_note_printed", "picked"):
        return words[rule]
    if rule == "shipment_number_entered":
        shipments = [s for s in (order or {}).get("shipments") or () if isinstance(s, Mapping)]
        shipment = next((s for s in shipments if s.get("id") == change.get("shipment")), None) or next(
            (s for s in shipments if after and s.get("tracking_number") == after), None
        )
        carrier = _str((shipment or {}).get("carrier"))
        key = rule if carrier else "shipment_number_entered_plain"
        return words[key].format(carrier=carrier, number=_str(after))
    if rule == "delivered_quantity_changed" and line is not None:
        quantity, delivered = _int(line.get("quantity")), _int(after)
        if quantity and delivered >= quantity:
            return words["delivered_in_full"].format(name=name)
        return words[rule].format(name=name, after=delivered, quantity=quantity)
    if rule == "expected_delivery_date_changed":
        first, second = _short_dates(before, after, language)
        prefix = "" if name else "order_"
        key = "date_moved" if first and second else "date_set" if second else "date_unset"
        return words[prefix + key].format(name=name, before=first, after=second)
    if rule == "back_in_stock" and name:
        return words[rule].format(name=name)
    return _str(change.get("description")) or rule


# --------------------------------------------------------------------------- building contexts


def _download(download: Any, instructions: str) -> dict[str, Any] | None:
    raw = download if isinstance(download, Mapping) else {}
    keys = raw.get("license_keys") or []
    out = {
        "url": _url(raw.get("url")),
        "license_keys": [_str(key) for key in keys] if isinstance(keys, list | tuple) else [_str(keys)],
        "instructions": _str(raw.get("instructions")) or instructions,
    }
    return out if (download or instructions) else None


def _order_lines(
    order: Mapping[str, Any], language: str, instructions: Mapping[str, Any]
) -> list[dict[str, Any]]:
    currency = _str(order.get("currency"))
    shipped = shipped_quantities(order)
    out = []
    for line in order.get("lines") or ():
        line_id, sku = _str(line.get("id")), _str(line.get("sku"))
        quantity = _int(line.get("quantity"))
        try:
            total: Any = Decimal(_str(line.get("unit_price"))) * quantity
        except InvalidOperation:
            total = ""
        out.append(
            {
                "id": line_id,
                "name": _str(line.get("name")) or sku,
                "sku": sku,
                "quantity": quantity,
                "unit_price": _money(line.get("unit_price"), currency, language),
                "line_total": _money(total, currency, language),
                "delivered_quantity": _int(line.get("delivered_quantity")),
                "shipped_quantity": shipped.get(line.get("id"), 0),
                "backordered": bool(line.get("backordered")),
                "expected_delivery_date": _date(effective_date(line, order), language),
                "download": _download(line.get("download"), _str(instructions.get(sku))),
            }
        )
    return out


def _shipment(
    shipment: Mapping[str, Any], lines: Mapping[str, dict[str, Any]], language: str
) -> dict[str, Any]:
    items = []
    for item in shipment.get("lines") or ():
        line = lines.get(_str(item.get("line_id"))) or {}
        items.append(
            {
                "line_id": _str(item.get("line_id")),
                "name": line.get("name", ""),
                "sku": line.get("sku", ""),
                "quantity": _int(item.get("quantity")),
            }
        )
    return {
        "id": _str(shipment.get("id")),
        "carrier": _str(shipment.get("carrier")),
        "tracking_number": _str(shipment.get("tracking_number")),
        "tracking_url": _url(shipment.get("tracking_url")),
        "shipped_at": _date(shipment.get("shipped_at"), language),
        "drop_shipper": _str(shipment.get("drop_shipper")),
        "lines": items,
    }


def _order(
    order: Mapping[str, Any], language: str, instructions: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    currency = _str(order.get("currency"))
    lines = _order_lines(order, language, instructions)
    by_id = {line["id"]: line for line in lines}
    totals = order.get("totals") if isinstance(order.get("totals"), Mapping) else {}
    status = _str(order.get("status"))
    context = {
        "id": _str(order.get("id")),
        "number": _str(order.get("number") or order.get("id")),
        "date": _date(order.get("created_at"), language),
        "status": status,
        "status_label": _str(order.get("status_label")) or status.replace("_", " ").capitalize(),
        "currency": currency,
        "expected_delivery_date": _date(order.get("expected_delivery_date"), language),
        "lines": lines,
        "totals": {
            **{key: _money(value, currency, language) for key, value in (totals or {}).items()},
            **{
                key: _money((totals or {}).get(key), currency, language)
                for key in ("subtotal", "shipping", "tax", "total")
            },
        },
        "shipments": [_shipment(s, by_id, language) for s in order.get("shipments") or ()],
        "shipping_address": _address(order.get("shipping_address"), language),
        "billing_address": _address(order.get("billing_address"), language),
    }
    return context, by_id


def _customer(customer: Mapping[str, Any] | None) -> dict[str, Any]:
    raw = customer or {}
    first, last = _str(raw.get("first_name")).strip(), _str(raw.get("last_name")).strip()
    return {
        "full_name": " ".join(part for part in (first, last) if part) or _str(raw.get("name")).strip(),
        "first_name": first,
        "last_name": last,
        "email": _str(raw.get("email")),
        "phone": _str(raw.get("phone")),
        "country": _str(raw.get("country")),
        "language": _str(raw.get("language")),
    }


def _rma(value: Any, lines: Mapping[str, dict[str, Any]], language: str) -> dict[str, Any]:
    raw = value if isinstance(value, Mapping) else {}
    items = []
    for item in raw.get("lines") or ():
        line = lines.get(_str(item.get("line_id"))) or {}
        items.append(
            {
                "line_id": _str(item.get("line_id")),
                "name": _str(item.get("name")) or line.get("name", ""),
                "sku": _str(item.get("sku")) or line.get("sku", ""),
                "quantity": _int(item.get("quantity")),
            }
        )
    return {
        "id": _str(raw.get("id")),
        "number": _str(raw.get("number") or raw.get("id")),
        "status": _str(raw.get("status")),
        "reason": _str(raw.get("reason")),
        "comment": _str(raw.get("comment")),
        "requested_at": _date(raw.get("requested_at"), language),
        "lines": items,
    }


def _message(value: Any, language: str) -> dict[str, Any]:
    raw = value if isinstance(value, Mapping) else {}
    return {
        "author": _str(raw.get("author") or raw.get("name")),
        "name": _str(raw.get("name") or raw.get("author")),
        "email": _str(raw.get("email")),
        "subject": _str(raw.get("subject")),
        "body": _str(raw.get("body") or raw.get("message")),
        "order_number": _str(raw.get("order_number") or raw.get("order")),
        "date": _date(raw.get("date") or raw.get("created_at"), language),
    }


def _thread(value: Any) -> dict[str, Any]:
    raw = value if isinstance(value, Mapping) else {}
    return {
        "id": _str(raw.get("id")),
        "subject": _str(raw.get("subject")),
        "url": _url(raw.get("url")),
        "order_number": _str(raw.get("order_number") or raw.get("order")),
    }


def _affiliate(value: Any) -> dict[str, Any]:
    raw = value if isinstance(value, Mapping) else {}
    known = ("name", "email", "website")
    return {
        **{key: _str(raw.get(key)) for key in known},
        "details": [
            {"label": key.replace("_", " ").capitalize(), "value": _str(item)}
            for key, item in raw.items()
            if key not in known and item not in (None, "") and not isinstance(item, Mapping | list)
        ],
    }


@lru_cache(maxsize=32)
def _inline_fragment(html: str) -> str:
    try:
        return _inliners()[1].inline_fragment(html, _stylesheet())
    except (css_inline.InlineError, ValueError):
        return html


@lru_cache(maxsize=32)
def _html_text(html: str) -> str:
    return inscriptis.get_text(html).strip()


def _newsletter(value: Any) -> dict[str, Any]:
    raw = value if isinstance(value, Mapping) else {}
    html, text = _str(raw.get("html")), _str(raw.get("text"))
    if html and not text:
        text = _html_text(html)
    if text and not html:
        html = "".join(f"<p>{escape(p).replace(chr(10), Markup('<br>'))}</p>" for p in text.split("\n\n"))
    return {"subject": _str(raw.get("subject")), "html": _inline_fragment(html) if html else "", "text": text}


def _remaining(lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": line["id"],
            "name": line["name"],
            "sku": line["sku"],
            "quantity": line["quantity"] - line["shipped_quantity"],
            "expected_delivery_date": line["expected_delivery_date"],
            "backordered": line["backordered"],
        }
        for line in lines
        if line["quantity"] > line["shipped_quantity"]
    ]


def _change(
    change: Mapping[str, Any], language: str, order: Mapping[str, Any] | None, lines: Mapping[str, Any]
) -> dict[str, Any]:
    rule = _str(change.get("rule"))
    before, after = change.get("before"), change.get("after")
    if rule == "expected_delivery_date_changed":
        before, after = _date(before, language), _date(after, language)
    return {
        "rule": rule,
        "description": describe_change(change, language, order),
        "before": "" if before is None else before,
        "after": "" if after is None else after,
        "line": lines.get(_str(change.get("line"))) if change.get("line") is not None else None,
    }


def _extra(
    name: str,
    extras: Mapping[str, Any],
    language: str,
    lines: Mapping[str, dict[str, Any]],
    order_lines: list[Any],
) -> Any:
    value = extras.get(name)
    if name in ("reset_url", "invite_url", "unsubscribe_url", "admin_url"):
        return _url(value)
    if name == "backorder_choice_urls":
        raw = value if isinstance(value, Mapping) else {}
        return {key: _url(raw.get(key)) for key in ("one_shipment", "split_shipments")}
    if name == "remaining":
        return _remaining(order_lines)
    if name == "rma":
        return _rma(value, lines, language)
    if name == "thread":
        return _thread(value)
    if name == "message":
        return _message(value, language)
    if name == "affiliate":
        return _affiliate(value)
    if name == "newsletter":
        return _newsletter(value)
    return value


def build_context(
    notification: str,
    *,
    language: str,
    store: Mapping[str, Any],
    order: Mapping[str, Any] | None,
    customer: Mapping[str, Any] | None,
    changes: Sequence[Mapping[str, Any]] = (),
    shipment_id: str | None = None,
    custom_message: str = "",
    order_url: str = "",
    extras: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The template context: plain, formatted data shaped as SPEC section 6 and docs/templates.md.

    ``extras`` carries the notification's extra variables (``reset_url``, ``rma``, ...) and
    optionally ``today`` (a date or ISO string, for previews and tests) and
    ``download_instructions`` ({sku: text}, a product's instructions for every line of it).
    """
    spec: Notification = get_notification(notification)
    extras = extras or {}
    language = _language(language, _str(store.get("default_language")))
    name, url = _str(store.get("company_name")), _url(store.get("company_url"))
    today = _to_date(extras["today"]) if extras.get("today") else None
    context: dict[str, Any] = {
        "company_name": name,
        "company_url": url,
        "today": _date(today or dt.datetime.now(dt.UTC).date(), language),
        "language": language,
        "store": {
            "company_name": name,
            "company_url": url,
            "brand_color": _brand_color(store.get("brand_color")),
            "from_name": _str(store.get("from_name")) or name,
        },
        "customer": _customer(customer if customer is not None else (order or {}).get("customer")),
        "custom_message": _str(custom_message).strip(),
    }
    lines: dict[str, dict[str, Any]] = {}
    order_lines: list[dict[str, Any]] = []
    if spec.about_order:
        instructions = extras.get("download_instructions")
        order_context, lines = _order(
            order or {}, language, instructions if isinstance(instructions, Mapping) else {}
        )
        order_lines = order_context["lines"]
        shipments = order_context["shipments"]
        shipment = next(
            (s for s in shipments if shipment_id is not None and s["id"] == _str(shipment_id)), None
        )
        if shipment is None and notification in ("order_partially_shipped", "order_shipped") and shipments:
            shipment = shipments[-1]
        context.update(
            order=order_context,
            shipment=shipment,
            changes=[_change(change, language, order, lines) for change in changes],
            order_url=_url(order_url),
        )
    for root in dict.fromkeys(variable.name.split(".")[0] for variable in spec.extras):
        context[root] = _extra(root, extras, language, lines, order_lines)
    return context


# --------------------------------------------------------------------------- the sample order

_SAMPLE_STORE = {
    "company_name": "Fjord & Fell",
    "company_url": "https://shop.example.com",
    "brand_color": DEFAULT_BRAND_COLOR,
    "default_language": "en",
    "admin_email": "orders@shop.example.com",
    "from_name": "Fjord & Fell",
}
_SAMPLE_WORDS = {
    "en": (
        "Mug",
        "Wool socks",
        "Field guide to Nordic birds (e-book)",
        "Invoiced",
        "Awaiting payment",
        "Cancelled",
    ),
    "nb": (
        "Krus",
        "Ullsokker",
        "Felthåndbok over nordiske fugler (e-bok)",
        "Fakturert",
        "Venter på betaling",
        "Kansellert",
    ),
    "de": (
        "Tasse",
        "Wollsocken",
        "Bestimmungsbuch nordische Vögel (E-Book)",
        "In Rechnung gestellt",
        "Zahlung ausstehend",
        "Storniert",
    ),
}
_SAMPLE_TEXT = {
    "en": {
        "instructions": "Open the file in any e-book reader. The licence key unlocks the bonus maps.",
        "reason": "The mug arrived with a chipped handle.",
        "approved": "Sorry about that! Please send the mug back with the enclosed label; we will send a"
        " new one as soon as it arrives.",
        "denied": "The photos show wear from use, so we cannot accept this return. Please contact us if you"
        " have questions.",
        "thread": "Gift wrapping for order 10023",
        "reply": "Hi Ana, of course! We will wrap the mug and add a card. It costs nothing extra.",
        "question": "Hi, could you gift-wrap the mug? It is a birthday present.",
        "contact_subject": "Wholesale prices",
        "contact": "Hello, we run a café in Bergen and would like to order 50 mugs. Do you offer volume"
        " discounts?",
        "newsletter": "Winter news from Fjord & Fell",
        "newsletter_html": "<h2>New wool socks are in</h2><p>Warm feet all winter: our new merino socks"
        " are knitted in Norway.</p>",
    },
    "nb": {
        "instructions": "Åpne filen i en hvilken som helst e-bokleser. Lisensnøkkelen låser opp"
        " bonuskartene.",
        "reason": "Kruset kom med et skår i hanken.",
        "approved": "Så leit! Send kruset tilbake med den vedlagte etiketten, så sender vi et nytt så snart"
        " det er kommet frem.",
        "denied": "Bildene viser bruksslitasje, så vi kan dessverre ikke ta imot returen. Ta gjerne kontakt"
        " hvis du har spørsmål.",
        "thread": "Gaveinnpakning for bestilling 10023",
        "reply": "Hei Ana, selvsagt! Vi pakker inn kruset og legger ved et kort. Det koster ingenting"
        " ekstra.",
        "question": "Hei, kan dere pakke inn kruset som gave? Det er en bursdagsgave.",
        "contact_subject": "Forhandlerpriser",
        "contact": "Hei, vi driver en kafé i Bergen og vil gjerne bestille 50 krus. Gir dere kvantumsrabatt?",
        "newsletter": "Vinternytt fra Fjord & Fell",
        "newsletter_html": "<h2>Nye ullsokker er på plass</h2><p>Varme føtter hele vinteren: de nye"
        " merinosokkene våre er strikket i Norge.</p>",
    },
    "de": {
        "instructions": "Öffnen Sie die Datei in einem beliebigen E-Book-Reader. Der Lizenzschlüssel schaltet"
        " die Bonuskarten frei.",
        "reason": "Die Tasse kam mit einem abgeschlagenen Henkel an.",
        "approved": "Das tut uns leid! Bitte senden Sie die Tasse mit dem beiliegenden Etikett zurück; wir"
        " schicken Ihnen sofort nach Eingang eine neue.",
        "denied": "Die Fotos zeigen Gebrauchsspuren, daher können wir die Rücksendung leider nicht annehmen."
        " Bei Fragen melden Sie sich gern.",
        "thread": "Geschenkverpackung für Bestellung 10023",
        "reply": "Hallo Ana, sehr gern! Wir verpacken die Tasse als Geschenk und legen eine Karte bei."
        " Das kostet nichts extra.",
        "question": "Hallo, können Sie die Tasse als Geschenk verpacken? Sie ist ein Geburtstagsgeschenk.",
        "contact_subject": "Großhandelspreise",
        "contact": "Hallo, wir betreiben ein Café in Bergen und möchten 50 Tassen bestellen. Gibt es"
        " Mengenrabatt?",
        "newsletter": "Winterneuheiten von Fjord & Fell",
        "newsletter_html": "<h2>Neue Wollsocken sind da</h2><p>Warme Füße den ganzen Winter: Unsere neuen"
        " Merinosocken werden in Norwegen gestrickt.</p>",
    },
}
_SAMPLE_CUSTOM_MESSAGE = {
    "en": "Thank you for shopping with us again, Ana!",
    "nb": "Takk for at du handler hos oss igjen, Ana!",
    "de": "Danke, dass Sie wieder bei uns einkaufen, Ana!",
}
_SAMPLE_CHANGES: tuple[dict[str, Any], ...] = (
    {"rule": "status_changed", "before": "processing", "after": "invoiced", "line": None},
    {"rule": "delivery_note_printed", "before": False, "after": True, "line": None},
    {"rule": "picked", "before": False, "after": True, "line": None},
    {
        "rule": "shipment_number_entered",
        "before": None,
        "after": "1Z999AA10123456784",
        "line": None,
        "shipment": "s1",
    },
    {"rule": "delivered_quantity_changed", "before": 0, "after": 2, "line": "1"},
    {"rule": "expected_delivery_date_changed", "before": "2026-12-03", "after": "2026-12-09", "line": "2"},
    {"rule": "back_in_stock", "before": False, "after": True, "line": "2"},
)


def _sample_order(notification: str, language: str) -> dict[str, Any]:
    mug, socks, book, invoiced, pending, cancelled = _SAMPLE_WORDS[language]
    status, label = {
        "order_received": ("pending", pending),
        "order_cancelled": ("cancelled", cancelled),
    }.get(notification, ("invoiced", invoiced))
    address = {
        "first_name": "Ana",
        "last_name": "Silva",
        "address1": "Storgata 12",
        "address2": "3. etasje",
        "postcode": "0155",
        "city": "Oslo",
        "country": "NO",
        "phone": "+47 912 34 567",
    }
    shipments: list[dict[str, Any]] = [
        {
            "id": "s1",
            "carrier": "UPS",
            "tracking_number": "1Z999AA10123456784",
            "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
            "shipped_at": "2026-11-21T14:30:00+00:00",
            "drop_shipper": None,
            "lines": [{"line_id": "1", "quantity": 2}],
        },
    ]
    if notification == "order_shipped":
        shipments.append(
            {
                "id": "s2",
                "carrier": "Posten",
                "tracking_number": "70712345678901234",
                "tracking_url": "https://sporing.posten.no/sporing/70712345678901234",
                "shipped_at": "2026-12-08T09:00:00+00:00",
                "drop_shipper": "Nordic Wool AS",
                "lines": [{"line_id": "2", "quantity": 1}],
            }
        )
    return {
        "id": "10023",
        "number": "10023",
        "created_at": "2026-11-20T10:15:00+00:00",
        "updated_at": "2026-11-21T08:00:00+00:00",
        "status": status,
        "status_label": label,
        "currency": "EUR",
        "customer": _SAMPLE_CUSTOMER,
        "billing_address": address,
        "shipping_address": address,
        "totals": {"subtotal": "42.40", "shipping": "4.95", "tax": "11.84", "total": "59.19"},
        "expected_delivery_date": None,
        "delivery_note_printed": True,
        "picked": True,
        "lines": [
            {
                "id": "1",
                "sku": "MUG-01",
                "name": mug,
                "quantity": 2,
                "unit_price": "10.00",
                "delivered_quantity": 2,
                "backordered": False,
                "expected_delivery_date": None,
                "purchase_order_expected_date": None,
                "download": None,
            },
            {
                "id": "2",
                "sku": "SOCK-W",
                "name": socks,
                "quantity": 1,
                "unit_price": "12.50",
                "delivered_quantity": 1 if notification == "order_shipped" else 0,
                "backordered": True,
                "expected_delivery_date": "2026-12-09",
                "purchase_order_expected_date": "2026-12-03",
                "download": None,
            },
            {
                "id": "3",
                "sku": "EBOOK-7",
                "name": book,
                "quantity": 1,
                "unit_price": "9.90",
                "delivered_quantity": 1,
                "backordered": False,
                "expected_delivery_date": None,
                "purchase_order_expected_date": None,
                "download": {
                    "url": "https://shop.example.com/downloads/d8f3c2",
                    "license_keys": ["NB7Q-4KX2-9PLM-T3WZ"],
                    "instructions": _SAMPLE_TEXT[language]["instructions"],
                },
            },
        ],
        "shipments": shipments,
    }


_SAMPLE_CUSTOMER = {
    "id": "c-17",
    "email": "ana@example.com",
    "first_name": "Ana",
    "last_name": "Silva",
    "language": "en",
    "phone": "+47 912 34 567",
    "country": "NO",
}


def _sample_extras(notification: str, language: str) -> dict[str, Any]:
    words = _SAMPLE_TEXT[language]
    base = "https://shop.example.com"
    return {
        "reset_url": f"{base}/account/reset/Mw/c4t-9f2e1b7a",
        "invite_url": f"{base}/account/invite/Mw/c4t-5d8e2a1f",
        "unsubscribe_url": f"{base}/unsubscribe/eyJjIjoiYy0xNyJ9.aZ3x",
        "admin_url": f"{base}/admin/",
        "backorder_choice_urls": {
            "one_shipment": f"{base}/account/orders/10023/backorder?choice=single&token=k7Qp",
            "split_shipments": f"{base}/account/orders/10023/backorder?choice=split&token=k7Qp",
        },
        "rma": {
            "id": "r-42",
            "number": "RMA-1042",
            "status": "denied" if notification == "rma_denied" else "approved",
            "reason": words["reason"],
            "comment": words["denied" if notification == "rma_denied" else "approved"],
            "requested_at": "2026-11-25",
            "lines": [{"line_id": "1", "quantity": 1}],
        },
        "thread": {
            "id": "t-7",
            "subject": words["thread"],
            "url": f"{base}/account/helpdesk/t-7",
            "order_number": "10023",
        },
        "message": {
            "author": "Kari" if notification == "helpdesk_reply" else "Ana Silva",
            "name": "Ola Nordmann" if notification == "admin_contact_message" else "Ana Silva",
            "email": "ola@kafe.example.no" if notification == "admin_contact_message" else "ana@example.com",
            "subject": words["contact_subject"],
            "body": {"helpdesk_reply": words["reply"], "admin_contact_message": words["contact"]}.get(
                notification, words["question"]
            ),
            "order_number": "" if notification == "admin_contact_message" else "10023",
            "date": "2026-11-22",
        },
        "affiliate": {
            "name": "Turglede Blogg",
            "email": "post@turglede.example.no",
            "website": "https://turglede.example.no",
            "company_id": "NO 912 345 678",
            "audience": "Hikers in Norway, 40,000 monthly readers",
        },
        "newsletter": {"subject": words["newsletter"], "html": words["newsletter_html"]},
    }


def sample_context(notification: str, language: str) -> dict[str, Any]:
    """A believable context for previews and validation: order 10023 with every kind of line,
    a shipment, and one change for every order-update rule."""
    spec = get_notification(notification)
    language = _language(language)
    order = _sample_order(notification, language) if spec.about_order else None
    shipment = {"order_shipped": "s2", "order_partially_shipped": "s1"}.get(notification)
    return build_context(
        notification,
        language=language,
        store=_SAMPLE_STORE,
        order=order,
        customer=_SAMPLE_CUSTOMER,
        changes=_SAMPLE_CHANGES if spec.about_order else (),
        shipment_id=shipment,
        order_url="https://shop.example.com/account/orders/10023?token=q9Xr2",
        extras=_sample_extras(notification, language),
    )
