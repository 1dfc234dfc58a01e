"""Secrets taken out of text that staff, API clients or logs see.

``redact(text)`` replaces the token of a one-time link (password reset, invitation) with
``[redacted]``, and the values of secret-looking query parameters, ``Authorization`` headers and
``password=`` pairs likewise. The e-mail that is sent keeps its link: only what is shown or
written to a log goes through here.
"""

from __future__ import annotations

import re

MARK = "[redacted]"

# /account/reset/<token>/, /account/invite/<token>/ and the same for other portals' logins
_LINK = re.compile(r"(/(?:account|dropship|[a-z]+)/(?:reset|invite|set-password)/)([^/\s\"'<>?#&]{6,})")
_QUERY = re.compile(
    r"([?&;](?:token|key|api_key|apikey|password|passwd|secret|signature|sig)=)([^&;\s\"'<>#]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(Bearer\s+)[A-Za-z0-9._~+/=\-]{6,}", re.IGNORECASE)
_PAIR = re.compile(
    r"(\b(?:password|passwd|secret|secret_key|api_key|new_password[12]?|current_password)\b[\"']?\s*[:=]\s*[\"']?)"
    r"([^\s\"',}&]+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    if not text:
        return text
    text = _LINK.sub(lambda m: m.group(1) + MARK, text)
    text = _QUERY.sub(lambda m: m.group(1) + MARK, text)
    text = _BEARER.sub(lambda m: m.group(1) + MARK, text)
    return _PAIR.sub(lambda m: m.group(1) + MARK, text)


def redact_link_tokens(text: str) -> str:
    """Only the one-time link tokens (for e-mail content shown to staff)."""
    return _LINK.sub(lambda m: m.group(1) + MARK, text) if text else text
