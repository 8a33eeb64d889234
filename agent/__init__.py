"""The agent: the loop, model adapters (Claude, playbook planner), CLI, batch, MCP server."""
