"""Jinja2 templates (system prompt, Claude Code agent file, report), rendered strictly."""
