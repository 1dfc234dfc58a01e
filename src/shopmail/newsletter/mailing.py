"""Composing newsletter messages at bulk speed: the shared parts once, the personal parts per recipient.

A newsletter message's payload holds the newsletter's id and the recipient's own values (name,
address, unsubscribe link). ``compose`` renders the newsletter template once per newsletter,
language, template version and *shape* (which personal values are empty, so ``{% if %}`` takes
the recipient's branch), with a placeholder for each personal value, and encodes the parts in
between as quoted-printable once (``mime.qp_encode``). Per recipient it fills in the values (HTML-escaped in
the HTML part; text lines holding one are wrapped again at 72 columns) and builds the headers
with ``domain.mime.build_message``, splicing the pre-encoded bodies into its output.

Whether a template may be rendered this way is checked, not assumed: the placeholders are
rendered twice with different names and must come out unchanged and in the same places, and a
store's own template may use the personal values only as ``{{ value }}`` or an ``{% if value %}``
test (no filters, comparisons or assignments). Otherwise every recipient is rendered in full,
which is slower but always right.
"""

from __future__ import annotations

import re
import textwrap
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import jinja2
from django.utils import timezone
from jinja2 import nodes
from markupsafe import escape

from shopmail.domain import mime
from shopmail.mail import compose as compose_mod
from shopmail.mail import rendering, templates
from shopmail.mail.models import Message, Payload
from shopmail.newsletter import sending
from shopmail.newsletter.models import Newsletter
from shopmail.store.models import StoreSettings

NOTIFICATION = "newsletter"
CUSTOMER_FIELDS = ("first_name", "last_name", "email", "phone", "country", "language")
URL_FIELD = "url"
FIELDS = (*CUSTOMER_FIELDS, URL_FIELD)
PERSONAL_NAMES = frozenset({"customer", "unsubscribe_url"})
TEXT_MARK, HTML_MARK = b"SMNLTEXTBODYMARK", b"SMNLHTMLBODYMARK"
_OPEN, _CLOSE = "\ue000", "\ue001"
_PLACEHOLDER = re.compile(f"(https://)?{_OPEN}([a-z_]+){_CLOSE}")
_HANGING = re.compile(r"^(\s*(?:[-*•]\s+|\d+[.)]\s+)?)")
TEMPLATE_TTL = 5.0  # seconds a worker keeps using the template source it looked up

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Lru(OrderedDict[K, V]):
    def __init__(self, size: int):
        super().__init__()
        self.size = size
        self.lock = threading.Lock()

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        with self.lock:
            if key in self:
                self.move_to_end(key)
                return self[key]
        value = make()
        with self.lock:
            self[key] = value
            while len(self) > self.size:
                self.popitem(last=False)
        return value


# --------------------------------------------------------------------------- shared content


_CONTENT: _Lru[tuple[int, Any], dict[str, str] | None] = _Lru(16)
_TEMPLATES: dict[str, tuple[float, rendering.TemplateSource, str]] = {}


def clear_caches() -> None:
    _CONTENT.clear()
    _TEMPLATES.clear()
    _STENCILS.clear()


def content(newsletter_id: int, revision: Any = None) -> dict[str, str] | None:
    """The newsletter's subject, HTML and text (read once per revision and process)."""

    def load() -> dict[str, str] | None:
        newsletter = Newsletter.objects.filter(pk=newsletter_id).first()
        if newsletter is None:
            return None
        return {"subject": newsletter.subject, "html": newsletter.html, "text": newsletter.text}

    return _CONTENT.get_or_make((newsletter_id, revision), load)


def _template(language: str) -> tuple[rendering.TemplateSource, str]:
    now = time.monotonic()
    cached = _TEMPLATES.get(language)
    if cached is None or now - cached[0] > TEMPLATE_TTL:
        source, version = templates.current(NOTIFICATION, language)
        cached = _TEMPLATES[language] = (now, source, version)
    return cached[1], cached[2]


# --------------------------------------------------------------------------- the stencil


@dataclass(frozen=True)
class _Slot:
    """A personal part: text and field names alternating (even: text, odd: a field)."""

    segments: tuple[str, ...]
    html: bool = False
    wrap: bool = False

    def fill(self, values: Mapping[str, str]) -> str:
        out = [
            segment if i % 2 == 0 else (str(escape(values[segment])) if self.html else values[segment])
            for i, segment in enumerate(self.segments)
        ]
        text = "".join(out)
        if self.wrap:
            text = "\n".join(_wrap(line) for line in text.split("\n"))
        return text


@dataclass(frozen=True)
class _Part:
    """A body part: static text (with its encoding) and slots, in order."""

    pieces: tuple[tuple[str, bytes] | _Slot, ...]

    def fill(self, values: Mapping[str, str]) -> tuple[str, bytes]:
        texts, encoded = [], []
        for piece in self.pieces:
            if isinstance(piece, _Slot):
                text = piece.fill(values)
                texts.append(text)
                encoded.append(mime.qp_encode(text))
            else:
                texts.append(piece[0])
                encoded.append(piece[1])
        return "".join(texts), mime.qp_join(encoded)


@dataclass(frozen=True)
class Stencil:
    subject: _Slot
    text: _Part
    html: _Part
    version: str


def _wrap(line: str) -> str:
    """As the renderer tidies text: a line over 72 columns wrapped under its indent; URLs stay whole."""
    if len(line) <= rendering.TEXT_WIDTH:
        return line
    match = _HANGING.match(line)
    hanging = " " * len(match.group(1)) if match else ""
    wrapped = textwrap.wrap(
        line,
        width=rendering.TEXT_WIDTH,
        subsequent_indent=hanging,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "\n".join(wrapped) or line


def _segments(text: str) -> tuple[str, ...]:
    """Text and placeholder names alternating."""
    out: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(text):
        scheme, name = match.group(1) or "", match.group(2)
        if name == URL_FIELD and not scheme:
            continue  # not the link as it was put in: left as text (and refused by the caller)
        literal = scheme if name != URL_FIELD else ""
        out.extend((text[last : match.start()] + literal, name))
        last = match.end()
    out.append(text[last:])
    return tuple(out)


def _static(text: str) -> tuple[str, bytes]:
    return text, mime.qp_encode(text)


def _html_part(html: str) -> _Part:
    segments = _segments(html)
    pieces: list[tuple[str, bytes] | _Slot] = []
    for i, segment in enumerate(segments):
        if i % 2:
            pieces.append(_Slot(("", segment, ""), html=True))
        elif segment:
            pieces.append(_static(segment))
    return _Part(tuple(pieces))


def _text_part(text: str) -> _Part:
    """Lines with a placeholder become slots (wrapped again once filled); the rest is static."""
    pieces: list[tuple[str, bytes] | _Slot] = []
    static: list[str] = []
    lines = text.split("\n")
    for number, line in enumerate(lines):
        newline = "\n" if number < len(lines) - 1 else ""
        if _OPEN in line:
            if static:
                pieces.append(_static("".join(static)))
                static = []
            segments = _segments(line)
            pieces.append(_Slot((*segments[:-1], segments[-1] + newline), wrap=True))
        else:
            static.append(line + newline)
    if static:
        pieces.append(_static("".join(static)))
    return _Part(tuple(pieces))


def _placeholders(shape: tuple[bool, ...], variant: str) -> dict[str, str]:
    """A placeholder per present field ("" for empty ones). Variant "b" has other names of the
    same length, to see whether a template changes them."""
    names = {}
    for field, present in zip(FIELDS, shape, strict=True):
        name = field if variant == "a" else field.upper()
        if not present:
            names[field] = ""
        elif field == URL_FIELD:
            names[field] = f"https://{_OPEN}{name}{_CLOSE}"
        else:
            names[field] = f"{_OPEN}{name}{_CLOSE}"
    return names


def _render(
    shared: Mapping[str, str],
    values: Mapping[str, str],
    language: str,
    source: rendering.TemplateSource,
    store: Mapping[str, Any],
) -> rendering.Rendered:
    customer = {field: values[field] for field in CUSTOMER_FIELDS}
    context = rendering.build_context(
        NOTIFICATION,
        language=language,
        store=store,
        order=None,
        customer=customer,
        extras={"newsletter": dict(shared), "unsubscribe_url": values[URL_FIELD]},
    )
    return rendering.render(NOTIFICATION, language, context, source)


class _Uses(jinja2.visitor.NodeVisitor):
    """Finds a personal value used other than as ``{{ value }}`` or an ``{% if value %}`` test."""

    def __init__(self) -> None:
        self.unsafe = False

    def _personal(self, node: nodes.Node) -> bool:
        while isinstance(node, nodes.Getattr | nodes.Getitem):
            node = node.node
        return isinstance(node, nodes.Name) and node.name in PERSONAL_NAMES

    def _allowed(self, node: nodes.Node) -> bool:
        return isinstance(node, nodes.Getattr | nodes.Name) and self._personal(node)

    def generic_visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        for child in node.iter_child_nodes():
            if isinstance(node, nodes.Output) and self._allowed(child):
                continue
            if isinstance(node, nodes.If | nodes.CondExpr) and child is node.test:
                test = child.node if isinstance(child, nodes.Not) else child
                if self._allowed(test):
                    continue
            if self._personal(child) or (isinstance(child, nodes.Name) and child.name in PERSONAL_NAMES):
                self.unsafe = True
                return
            self.visit(child)


def _source_is_plain(source: rendering.TemplateSource) -> bool:
    environment = jinja2.Environment(autoescape=False)  # noqa: S701 - parsed only, never rendered
    for part in source:
        try:
            tree = environment.parse(part)
        except jinja2.TemplateSyntaxError:
            return False
        visitor = _Uses()
        visitor.visit(tree)
        if visitor.unsafe:
            return False
    return True


def build_stencil(
    shared: Mapping[str, str],
    language: str,
    source: rendering.TemplateSource,
    version: str,
    store: Mapping[str, Any],
    shape: tuple[bool, ...],
) -> Stencil | None:
    """The newsletter rendered once for recipients of this shape, or None if it cannot be."""
    if source != rendering.default_source(NOTIFICATION, language) and not _source_is_plain(source):
        return None
    content = rendering.TemplateSource(
        str(shared.get("subject") or ""), str(shared.get("text") or ""), str(shared.get("html") or "")
    )
    if not _source_is_plain(content):  # the newsletter's own text is a template too (SPEC 6)
        return None
    names_a, names_b = _placeholders(shape, "a"), _placeholders(shape, "b")
    try:
        a = _render(shared, names_a, language, source, store)
        b = _render(shared, names_b, language, source, store)
    except rendering.TemplateRenderError:
        return None
    swap = {names_b[f]: names_a[f] for f in FIELDS if names_a[f]}
    for part_a, part_b in zip((a.subject, a.text, a.html), (b.subject, b.text, b.html), strict=True):
        for placeholder_b, placeholder_a in swap.items():
            part_b = part_b.replace(placeholder_b, placeholder_a)
        if part_a != part_b:
            return None  # the template changes a personal value (a filter, say): no placeholders
        if any(_OPEN in text or _CLOSE in text for text in _segments(part_a)[::2]):
            return None  # a placeholder came out mangled
    return Stencil(_Slot(_segments(a.subject)), _text_part(a.text), _html_part(a.html), version)


_STENCILS: _Lru[tuple[Any, ...], Stencil | None] = _Lru(64)


# --------------------------------------------------------------------------- composing


def personal_values(context: Mapping[str, Any]) -> dict[str, str]:
    customer = context.get("customer") or {}
    values = {
        field: "" if customer.get(field) is None else str(customer.get(field)) for field in CUSTOMER_FIELDS
    }
    values["first_name"], values["last_name"] = values["first_name"].strip(), values["last_name"].strip()
    url = str((context.get("extras") or {}).get("unsubscribe_url") or "").strip()
    values[URL_FIELD] = url if re.match(r"(?i)^https?://", url) else ""
    return values


def _headers(
    message: Message, payload: Payload, settings: StoreSettings, subject: str, text: str, html: str
) -> bytes:
    """Exactly the headers ``mail.compose`` gives every message."""
    customer = payload.context.get("customer") or {}
    to_name = (
        ""
        if message.to_email == settings.admin_email
        else " ".join(part for part in (customer.get("first_name"), customer.get("last_name")) if part)
    )
    if isinstance(payload.context.get("to_name"), str):  # a test send to another address
        to_name = payload.context["to_name"]
    reply_to = payload.reply_to or settings.reply_to
    return mime.build_message(
        message_id=message.message_id,
        from_=mime.Address(settings.from_email, settings.from_name),
        to=[mime.Address(message.to_email, to_name)],
        subject=subject,
        text=text,
        html=html,
        date=timezone.now(),
        reply_to=mime.Address(reply_to) if reply_to else None,
        extra_headers=[
            ("X-Shopmail-Notification", message.notification),
            *map(tuple, payload.context.get("headers") or ()),
        ],
    )


def _splice(skeleton: bytes, text: bytes, html: bytes) -> bytes | None:
    head, separator, body = skeleton.partition(b"\r\n\r\n")
    if body.count(TEXT_MARK) != 1 or body.count(HTML_MARK) != 1:
        return None
    t, h = body.index(TEXT_MARK), body.index(HTML_MARK)
    if t > h:
        return None
    return b"".join(
        (
            head,
            separator,
            body[:t],
            text,
            body[t + len(TEXT_MARK) : h],
            html,
            body[h + len(HTML_MARK) :],
        )
    )


def _personal_parts(message: Message, payload: Payload, settings: StoreSettings) -> None:
    """A message queued without the recipient's personal parts (``sending._queue_chunk``) gets
    them now, unless the worker's batch already filled them in (``sending.complete``)."""
    if "customer" not in payload.context:
        sending.complete([(message, payload)], settings)
        if "customer" not in payload.context:
            raise LookupError("the recipient's customer no longer exists")


def _full(
    message: Message, payload: Payload, settings: StoreSettings, shared: Mapping[str, str]
) -> compose_mod.Composed:
    """The slow, general way: the whole template rendered for this one recipient."""
    _personal_parts(message, payload, settings)
    context = {key: value for key, value in payload.context.items() if key != "newsletter_id"}
    context["extras"] = {**(context.get("extras") or {}), "newsletter": dict(shared)}
    copy = Payload(
        message_id=message.pk, language=payload.language, context=context, reply_to=payload.reply_to
    )
    return compose_mod.compose_standard(message, copy, settings)


def compose(message: Message, payload: Payload, settings: StoreSettings) -> compose_mod.Composed:
    """Compose one newsletter message whose payload names its newsletter by ``newsletter_id``."""
    newsletter_id = payload.context["newsletter_id"]
    _personal_parts(message, payload, settings)
    shared = content(newsletter_id, payload.context.get("newsletter_revision"))
    if shared is None:
        raise LookupError(f"newsletter {newsletter_id} no longer exists")
    values = personal_values(payload.context)
    shape = tuple(bool(values[field]) for field in FIELDS)
    # customer -> base language -> store -> English, as every message (SPEC 6)
    language = templates.language_of(NOTIFICATION, payload.language, settings.default_language)
    source, version = _template(language)
    store = settings.store_context()
    key = (
        newsletter_id,
        payload.context.get("newsletter_revision"),
        language,
        source,
        tuple(sorted(store.items())),
        shape,
    )
    stencil = _STENCILS.get_or_make(
        key, lambda: build_stencil(shared, language, source, version, store, shape)
    )
    if stencil is None:
        return _full(message, payload, settings, shared)
    subject = " ".join(stencil.subject.fill(values).split())
    text, text_body = stencil.text.fill(values)
    html, html_body = stencil.html.fill(values)
    skeleton = _headers(message, payload, settings, subject, TEXT_MARK.decode(), HTML_MARK.decode())
    raw = _splice(skeleton, text_body, html_body)
    if raw is None:  # the MIME builder no longer encodes bodies the way this expects
        raw = _headers(message, payload, settings, subject, text, html)
    return compose_mod.Composed(subject, text, html, raw, version)


def compose_registered(
    message: Message, payload: Payload, settings: StoreSettings
) -> compose_mod.Composed | None:
    """The newsletter's composer in mail's registry: a message naming its newsletter is composed
    from the newsletter's shared parts and not stored (composed again for a retry); a newsletter
    test send without one goes the standard way."""
    if not payload.context.get("newsletter_id"):
        return None
    return replace(compose(message, payload, settings), keep=False)
