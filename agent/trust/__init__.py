"""Image trust: signature verification and the containers-policy.json policy.

Users already sign with containers/image tools (GnuPG "simple signing", lookaside stores from
``registries.d``) and with cosign (signatures as ``sha256-<hex>.sig`` tags); this package verifies
what they produce, with the same files. The one entry point for every writer (pull, deploy,
update, compose up, kube play, the agent) is :func:`agent.trust.enforcing.check`: it runs after
the manifest digest is known and before anything is written to the store.
"""
