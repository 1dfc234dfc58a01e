"""The simple editor's "extra text": a small safe subset of Markdown turned into template code.

What an owner may write: paragraphs (a blank line between them), ``**bold**``, ``*italic*``,
``[a link](https://...)`` (``http(s)://`` or ``mailto:``, or a link variable such as
``{{ order_url }}``), lists (lines starting with ``- ``) and variables (``{{ order.number }}``).
Everything else is text: ``<`` is escaped in the HTML part, and every ``{`` that does not open
a variable is printed as a literal, so the text can never become template code. The result is a
``{% set extra_top %}`` (or ``extra_bottom``) block appended to the standard template of the
notification; the shared layouts print it above or below the content block. With no extra text
the standard template is returned unchanged (the same bytes in every e-mail).
"""

from __future__ import annotations

import re
from html import escape

from shopmail.mail.render.types import TemplateSource

POSITIONS = ("top", "bottom")
MAX_EXTRA = 5000  # characters of extra text
MAX_SUBJECT = 300

_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
VARIABLE = re.compile(r"\{\{\s*(" + _NAME + r")\s*\}\}")
_INLINE = re.compile(
    r"(?P<var>\{\{\s*" + _NAME + r"\s*\}\})"
    r"|\*\*(?P<bold>[^*\n]+?)\*\*"
    r"|\*(?P<italic>[^*\n]+?)\*"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<url>\{\{\s*" + _NAME + r"\s*\}\}|[^()\s]+)\)"
)
# a variable may be a link's address when it is one of the links the context offers (order_url,
# shipment.tracking_url, backorder_choice_urls.one_shipment, ...): those are only ever http(s)
# or mailto; any other variable (a customer's name) is not an address
_URL_VARIABLE = re.compile(r"urls?(?:\.|$)")
_SAFE_URL = re.compile(r"(?:https?://|mailto:)[^\s\"'<>{}\\]+\Z", re.IGNORECASE)
_LIST_ITEM = re.compile(r"^\s*[-*]\s+")
# the standard templates extend one of the layouts that have the extra_top / extra_bottom slots
_EXTENDS_LAYOUT = re.compile(r'\A\s*\{%-?\s*extends\s+"(?:[a-z]{2,3}/)?layout\.(?:html|txt)"\s*-?%\}')


def _literal(text: str, html: bool) -> str:
    if html:
        text = escape(text, quote=True)
    return text.replace("{", '{{ "{" }}')


def _variable(match: re.Match[str]) -> str:
    return "{{ " + VARIABLE.fullmatch(match.group(0)).group(1) + " }}"  # type: ignore[union-attr]


def inline(text: str, html: bool) -> str:
    """One line of extra text as template code (HTML or plain)."""
    out, at = [], 0
    for match in _INLINE.finditer(text):
        out.append(_literal(text[at : match.start()], html))
        at = match.end()
        if match.group("var"):
            out.append(_variable(match))
        elif match.group("bold") is not None:
            inner = inline(match.group("bold"), html)
            out.append(f"<strong>{inner}</strong>" if html else inner)
        elif match.group("italic") is not None:
            inner = inline(match.group("italic"), html)
            out.append(f"<em>{inner}</em>" if html else inner)
        else:
            url, label = match.group("url"), inline(match.group("label"), html)
            variable = VARIABLE.fullmatch(url)
            if variable and _URL_VARIABLE.search(variable.group(1)):  # links only: http(s)/mailto
                href = _variable(variable)
            elif _SAFE_URL.match(url):
                href = _literal(url, html)
            else:  # not a link we send: kept as the text it is
                out.append(f"[{label}]({inline(url, html)})")
                continue
            out.append(f'<a href="{href}" target="_blank">{label}</a>' if html else f"{label} ({href})")
    out.append(_literal(text[at:], html))
    return "".join(out)


def _blocks(text: str) -> list[list[str]]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            blocks[-1].append(line.rstrip())
        elif blocks[-1]:
            blocks.append([])
    return [block for block in blocks if block]


def to_html(text: str) -> str:
    parts = []
    for block in _blocks(text):
        if all(_LIST_ITEM.match(line) for line in block):
            items = "".join(f"<li>{inline(_LIST_ITEM.sub('', line), True)}</li>" for line in block)
            parts.append(f"<ul>{items}</ul>")
        else:
            parts.append("<p>" + "<br>".join(inline(line.strip(), True) for line in block) + "</p>")
    return "\n".join(parts)


def to_text(text: str) -> str:
    parts = []
    for block in _blocks(text):
        if all(_LIST_ITEM.match(line) for line in block):
            parts.append("\n".join("- " + inline(_LIST_ITEM.sub("", line), False) for line in block))
        else:
            parts.append("\n".join(inline(line.strip(), False) for line in block))
    return "\n\n".join(parts)


def subject_source(subject: str) -> str:
    """An owner's subject line as a template: variables, everything else literal."""
    out, at = [], 0
    for match in VARIABLE.finditer(subject):
        out.append(_literal(subject[at : match.start()], False))
        out.append(_variable(match))
        at = match.end()
    out.append(_literal(subject[at:], False))
    return " ".join("".join(out).split())


def has_slot(source: TemplateSource) -> bool:
    """Whether both bodies extend a layout, whose slots show the extra text."""
    return bool(_EXTENDS_LAYOUT.match(source.html) and _EXTENDS_LAYOUT.match(source.text))


def compose(standard: TemplateSource, subject: str, extra: str, position: str) -> TemplateSource:
    """The standard template with the owner's subject (if any) and extra text (if any)."""
    if position not in POSITIONS:
        raise ValueError(f"position must be one of {POSITIONS}")
    new_subject = subject_source(subject) if subject.strip() else standard.subject
    if not extra.strip():
        return TemplateSource(new_subject, standard.text, standard.html)
    name = f"extra_{position}"
    html, text = to_html(extra), to_text(extra)
    if position == "top":
        html_block, text_block = f"{html}\n", f"{text}\n\n"
    else:
        html_block, text_block = f"\n{html}", f"\n\n{text}\n"
    end = "{% endset %}\n"
    return TemplateSource(
        new_subject,
        f"{standard.text.rstrip()}\n{{% set {name} %}}{text_block}{end}",
        f"{standard.html.rstrip()}\n{{% set {name} %}}{html_block}{end}",
    )
