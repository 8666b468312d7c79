"""``python -m generate_media`` starts the MCP server over stdio."""

from .server.__main__ import main

if __name__ == "__main__":
    main()
