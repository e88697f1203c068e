"""The S3-compatible endpoint (path-style) on its own port, over the configured store."""
