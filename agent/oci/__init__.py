"""OCI image formats the agent reads and writes (layouts, media types)."""
