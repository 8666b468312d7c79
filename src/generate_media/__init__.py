"""generate-media-mcp: one MCP tool, ``generate_media``, for images, video and audio across providers."""

__version__ = "0.1.0"

__all__ = ["__version__"]
