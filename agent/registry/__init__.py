"""Pulling OCI images into the host store: registries (Distribution API v2) and local layouts.

``pulling.pull_image`` is the entry point; the other modules are its parts (image names are
``agent.oci.references``, below both the registry and the store): ``credentials`` and ``authorizing`` (who we are), ``client`` (HTTP with TLS policy and
retries), ``manifests`` and ``platforms`` (what to fetch), ``fetching`` (blobs into the store),
``layouts`` and ``archives`` (the ``oci:``, ``oci-archive:`` and ``docker-archive:`` transports).
"""
