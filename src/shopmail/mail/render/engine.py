"""Compiling templates (cached by a hash of their source) and rendering the three parts of an
e-mail: subject, text and HTML, each under a fresh sandbox budget."""

from __future__ import annotations

import hashlib
import re
import textwrap
import threading
from collections import OrderedDict
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import inscriptis
from jinja2 import Template, TemplateNotFound, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SecurityError
from markupsafe import escape

from shopmail.mail.notifications import get as get_notification
from shopmail.mail.render.inlining import inline_css
from shopmail.mail.render.sandbox import _BUDGET, MAX_OUTPUT, MAX_SOURCE, _Budget, _Limit, _Sandbox
from shopmail.mail.render.sources import default_source
from shopmail.mail.render.types import PARTS, Rendered, TemplateProblem, TemplateRenderError, TemplateSource

_ENVIRONMENTS: dict[bool, _Sandbox] = {}
_COMPILED: OrderedDict[tuple[str, bool, str], Template] = OrderedDict()
_COMPILED_MAX = 512
_LOCK = threading.Lock()


def _environment(part: str) -> _Sandbox:
    autoescape = part == "html"
    env = _ENVIRONMENTS.get(autoescape)
    if env is None:
        created = _Sandbox(autoescape=autoescape)
        # the layouts' slots for the simple editor's extra text (render/extra.py): empty unless
        # a template sets them
        created.globals["extra_top"] = created.globals["extra_bottom"] = ""
        env = _ENVIRONMENTS.setdefault(autoescape, created)
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


_WRAP_CACHED_UP_TO = 4096  # characters of a line whose wrapping is remembered


@lru_cache(maxsize=1024)
def _wrap_cached(line: str) -> str:
    return _wrap(line)


def _wrap_long(line: str) -> str:
    return _wrap_cached(line) if len(line) <= _WRAP_CACHED_UP_TO else _wrap(line)


def _tidy_text(text: str) -> str:
    """Plain text for mail: LF line ends, no trailing blanks, at most one empty line in a row,
    lines wrapped at 72 columns.

    textwrap is the dearest step after the template itself, so a long line the template
    repeats in every message (the footer, the standing sentences) is wrapped once.
    """
    lines = [line.rstrip(" \t") for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    text = "\n".join([line if len(line) <= TEXT_WIDTH else _wrap_long(line) for line in lines])
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
    first = _one_line(message.splitlines()[0])
    text, html = rendered.text, rendered.html
    # the text part is wrapped at 72 columns: a long first line is there with line breaks in it
    if first not in _one_line(text):
        text = _tidy_text(f"{message}\n\n{'-' * 72}\n\n{text}")
    if str(escape(first)) not in _one_line(html):
        block = (
            '<div style="margin:0 0 16px;padding:16px;background-color:#fff8e1;border-left:4px solid #f59e0b;'
            'font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:24px;color:#1f2328;">'
            + "<br>".join(str(escape(line)) for line in message.splitlines())
            + "</div>"
        )
        match = re.search(r"<body[^>]*>", html, re.IGNORECASE)
        html = html[: match.end()] + block + html[match.end() :] if match else block + html
    return Rendered(rendered.subject, text, html)


def _newsletter_content(context: Mapping[str, Any]) -> Mapping[str, Any]:
    """A newsletter's own subject, HTML and text are templates too (SPEC 6: the order templates'
    sandbox and variables), rendered against the recipient's context before the layout is."""
    letter = context.get("newsletter")
    if not isinstance(letter, Mapping):
        return context
    inner = {key: value for key, value in context.items() if key != "newsletter"}
    out, problems = dict(letter), []
    for part in PARTS:
        value = letter.get(part)
        if not isinstance(value, str) or not ("{" in value or "%" in value):
            continue
        try:  # the HTML is CSS-inlined already (build_context)
            out[part] = _run(_compile(part, value, inline=False), inner)
        except Exception as exc:
            problem = _problem(part, exc)
            problems.append(
                TemplateProblem(part, problem.line, f"in the newsletter's {part}: {problem.reason}")
            )
    if problems:
        raise TemplateRenderError(problems)
    return {**context, "newsletter": out}


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
    if notification == "newsletter":
        context = _newsletter_content(context)
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
