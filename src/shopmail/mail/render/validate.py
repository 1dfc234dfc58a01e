"""What the template editor refuses: syntax errors, unknown variables (also in branches the
sample order does not take), sandbox violations, output over the limits, and HTML whose CSS
cannot be inlined."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes

from shopmail.mail.notifications import get as get_notification
from shopmail.mail.render.engine import _compile, _environment, _problem, _run
from shopmail.mail.render.inlining import inline_css
from shopmail.mail.render.samples import _SAMPLE_CUSTOM_MESSAGE, sample_context
from shopmail.mail.render.sandbox import _DICT_METHODS, MAX_SOURCE
from shopmail.mail.render.types import PARTS, TemplateProblem, TemplateSource


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


def validate_newsletter(subject: str, html: str, text: str) -> list[TemplateProblem]:
    """A newsletter's own subject, HTML and text, checked as a newsletter template is: they may
    use the newsletter template's variables (``customer.first_name``, ``company_name``,
    ``unsubscribe_url``, ...) and nothing else, in the same sandbox."""
    problems = validate("newsletter", TemplateSource(subject or " ", text, html or text or " "))
    return [p for p in problems if p.reason != "the text and HTML parts are both empty"]
