"""Rendering e-mails from sandboxed Jinja2 templates (SPEC section 6).

Plain Python: no Django, no I/O beyond reading the packaged default templates. Other code
imports the facade ``shopmail.mail.rendering``; these modules are its implementation:

* ``types``: the public value types (``TemplateSource``, ``Rendered``, ``TemplateProblem``,
  ``TemplateRenderError``) and ``PARTS``.
* ``sandbox``: the ``ImmutableSandboxedEnvironment`` with ``StrictUndefined`` and hard limits
  on work and output size: a template can read its context and nothing else, cannot call
  code, and cannot exhaust memory or loop forever. It loads only the packaged partials.
* ``sources``: the packaged default templates and partials (``default_source``).
* ``inlining``: CSS inlined once per template version, when a template's source is compiled,
  never per message (``inline_css``).
* ``engine``: compiled templates, cached by a hash of their source, and ``render``.
* ``formatting``, ``changes`` and ``context``: ``build_context``, which turns an order
  snapshot, a customer and the store settings into the plain, already formatted data a
  template sees (dates and amounts in the e-mail's language).
* ``samples``: the sample order behind previews and validation (``sample_context``).
* ``validate``: what the template editor runs (``validate``).
"""
