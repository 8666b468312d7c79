"""The MCP surface of generate-media: the server factory and its transports."""

from .app import create_server

__all__ = ["create_server"]
