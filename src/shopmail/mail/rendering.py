"""Rendering e-mails from sandboxed Jinja2 templates (SPEC section 6): the public API.

A facade over the package ``shopmail.mail.render`` (see its docstring for the modules):

* ``build_context`` turns an order snapshot, a customer and the store settings into the
  plain, already formatted data a template sees (dates and amounts in the e-mail's language).
* ``render`` renders subject, text and HTML; ``validate`` is what the template editor runs.
* Templates run in an ``ImmutableSandboxedEnvironment`` with ``StrictUndefined`` and hard
  limits on work and output size (``render.sandbox``).
* CSS is inlined once per template version, when a template's source is compiled, never per
  message (``inline_css``). Compiled templates are cached by a hash of their source.

A plain re-export: to replace a piece in a test, patch it where it is used (for example
``shopmail.mail.render.engine.inline_css``).
"""

from __future__ import annotations

from shopmail.mail.render.changes import describe_change
from shopmail.mail.render.context import build_context
from shopmail.mail.render.engine import TEXT_WIDTH, render
from shopmail.mail.render.engine import _compile as _compile
from shopmail.mail.render.engine import _environment as _environment
from shopmail.mail.render.formatting import DEFAULT_BRAND_COLOR, LOCALES
from shopmail.mail.render.inlining import inline_css
from shopmail.mail.render.samples import _SAMPLE_CHANGES as _SAMPLE_CHANGES
from shopmail.mail.render.samples import _sample_order as _sample_order
from shopmail.mail.render.samples import sample_context
from shopmail.mail.render.sandbox import (
    MAX_CHARS,
    MAX_INT_BITS,
    MAX_OUTPUT,
    MAX_RANGE,
    MAX_SOURCE,
    MAX_VALUE,
    MAX_WORK,
)
from shopmail.mail.render.sources import _read as _read
from shopmail.mail.render.sources import default_source
from shopmail.mail.render.types import PARTS, Rendered, TemplateProblem, TemplateRenderError, TemplateSource
from shopmail.mail.render.validate import _assigned_names as _assigned_names
from shopmail.mail.render.validate import validate, validate_newsletter

__all__ = [
    "DEFAULT_BRAND_COLOR",
    "LOCALES",
    "MAX_CHARS",
    "MAX_INT_BITS",
    "MAX_OUTPUT",
    "MAX_RANGE",
    "MAX_SOURCE",
    "MAX_VALUE",
    "MAX_WORK",
    "PARTS",
    "TEXT_WIDTH",
    "Rendered",
    "TemplateProblem",
    "TemplateRenderError",
    "TemplateSource",
    "build_context",
    "default_source",
    "describe_change",
    "inline_css",
    "render",
    "sample_context",
    "validate",
    "validate_newsletter",
]
