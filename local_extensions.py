"""Jinja filters for the template: answers reach generated files as data, never as code."""

import json

from cookiecutter.utils import simple_filter

# Characters that YAML or TOML refuse, or read as line breaks, inside a double-quoted string:
# DEL, the C1 controls and the Unicode line separators. json.dumps escapes the C0 controls.
_UNPRINTABLE = {code: f"\\u{code:04x}" for code in [*range(0x7F, 0xA0), 0x2028, 0x2029]}


def string_literal(value: object) -> str:
    """Quote `value` as a double-quoted string valid in Python, JSON, TOML and YAML alike.

    JSON escapes quotes, backslashes and control characters; keeping other non-ASCII text raw
    (instead of Jinja's `tojson` surrogate pairs, which TOML rejects) keeps it readable.
    """
    return json.dumps(str(value), ensure_ascii=False).translate(_UNPRINTABLE)


# cookiecutter loads extensions by name (cookiecutter.json "_extensions"); the filter keeps its name.
StringLiteralExtension = simple_filter(string_literal)
