"""MCP servers: an end user's connected accounts' actions as Model Context Protocol tools."""
