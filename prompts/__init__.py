"""Jinja2 templates (system prompt, Claude Code agent file, report), rendered strictly."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

__all__ = ["render", "template_names"]


@cache
def _environment() -> Environment:
    # StrictUndefined: a missing variable is a bug and must raise, never render as "".
    return Environment(
        loader=PackageLoader("prompts", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **context: Any) -> str:
    """Renders ``templates/<name>.j2`` with ``context``; a missing variable raises.

    Args:
        name: the template name without ``.j2`` (e.g. ``"system"``).
        **context: the template variables.

    Raises:
        jinja2.UndefinedError: when the template uses a variable not given.
        jinja2.TemplateNotFound: when there is no such template.
    """
    return _environment().get_template(f"{name}.j2").render(**context)


def template_names() -> list[str]:
    """The names of every shipped template (without ``.j2``), partials excluded."""
    names = _environment().list_templates(extensions=["j2"])
    return sorted(n.removesuffix(".j2") for n in names if not n.startswith("_"))
