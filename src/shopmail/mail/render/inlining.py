"""CSS inlining, once per template version (when a template's source is compiled), never per
message: Jinja tags are swapped for placeholders an HTML parser keeps in place, css-inline
runs on that, and the tags are put back (``inline_css``)."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

import css_inline

from shopmail.mail.render.sources import _stylesheet

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
