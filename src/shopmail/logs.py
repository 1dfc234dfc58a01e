"""Structured logs: one JSON object per line, with the message id where there is one.

A record with ``extra={"each": [id, ...]}`` stands for one line per message: its text is
formatted with each id, which also goes in as ``message_id`` (the worker logs a chunk of sent
messages with one call; a logging call per message was a tenth of its time per message).

Every line goes through ``core.redact``: one-time link tokens (``/account/reset/<token>/``),
``Authorization: Bearer`` values, secret query parameters and ``password=`` pairs are written as
``[redacted]`` whichever logger wrote them (Django's request logger wrote the still-valid reset
path of a rejected new password to stderr). Django's ``request`` object in a record is logged as
its method and path only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from shopmail.core.redact import redact

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        request = entry.pop("request", None)
        if request is not None:  # Django's request logger: not the whole request (cookies, headers)
            entry["request"] = f"{getattr(request, 'method', '')} {getattr(request, 'path', '')}".strip()
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        each = entry.pop("each", None)
        if not isinstance(each, list | tuple):
            return redact(json.dumps(entry, default=str))
        # the line is encoded once with two marks, which each message's text and id replace
        entry["msg"], entry["message_id"] = _MSG_MARK, _ID_MARK
        head, _, rest = redact(json.dumps(entry, default=str)).partition(_encoded(_MSG_MARK))
        middle, _, tail = rest.partition(_encoded(_ID_MARK))
        text = redact(str(record.msg))
        return "\n".join(
            f"{head}{json.dumps(text % (message_id,))}{middle}{_encoded(message_id)}{tail}"
            for message_id in each
        )


# control characters: json.dumps writes them as \u0001, which no other value encodes to
_MSG_MARK, _ID_MARK = "\x01msg\x01", "\x01id\x01"


def _encoded(value: object) -> str:
    return str(value) if type(value) is int else json.dumps(value, default=str)
