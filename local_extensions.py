"""Jinja extensions for the template: answers reach generated files as data, never as code."""

import json
from pathlib import Path

from cookiecutter.utils import simple_filter
from jinja2 import Environment
from jinja2.ext import Extension
from jinja2.sandbox import SandboxedEnvironment

# Characters that YAML or TOML refuse, or read as line breaks, inside a double-quoted string:
# DEL, the C1 controls and the Unicode line separators. json.dumps escapes the C0 controls.
_UNPRINTABLE = {code: f"\\u{code:04x}" for code in [*range(0x7F, 0xA0), 0x2028, 0x2029]}
# Resolved once, when cookiecutter imports this module from the template: that happens before it
# changes directory, so even a relative template path resolves against the user's directory.
TEMPLATE_DIR = Path(__file__).resolve().parent


def string_literal(value: object) -> str:
    """Quote `value` as a double-quoted string valid in Python, JSON, TOML and YAML alike.

    JSON escapes quotes, backslashes and control characters; keeping other non-ASCII text raw
    (instead of Jinja's `tojson` surrogate pairs, which TOML rejects) keeps it readable.
    """
    return json.dumps(str(value), ensure_ascii=False).translate(_UNPRINTABLE)


# cookiecutter loads extensions by name (cookiecutter.json "_extensions"); the filter keeps its name.
StringLiteralExtension = simple_filter(string_literal)


class TemplateDirExtension(Extension):
    """Give templates and hooks `template_dir`: this template's absolute directory.

    cookiecutter's `_repo_dir` is the template path as typed (`.` or `main` stay relative), but
    it runs the hooks inside the new project folder, where such a path no longer leads anywhere.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["template_dir"] = str(TEMPLATE_DIR)


class SandboxExtension(Extension):
    """Render everything in Jinja's sandbox.

    cookiecutter renders command-line answers given with --no-input (and default_context values)
    as Jinja before using them, in an environment that can reach Python internals: an answer such
    as `{{ cycler.__init__.__globals__.os.popen('id').read() }}` would run a command. cookiecutter
    offers no setting for a sandbox, so this extension gives its environment the sandbox's
    attribute, item and call checks; such an answer then stops generation with a SecurityError.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        sandbox = SandboxedEnvironment()
        environment.sandboxed = True
        environment.intercepted_binops = sandbox.intercepted_binops
        environment.intercepted_unops = sandbox.intercepted_unops
        environment.getattr = sandbox.getattr
        environment.getitem = sandbox.getitem
        environment.call = sandbox.call
