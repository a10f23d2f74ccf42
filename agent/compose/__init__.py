"""Compose projects on the Engine: every service replica one atomic deployment.

:mod:`agent.compose.projects` turns a loaded compose project into services with their replicas,
names, labels and configuration hashes; :mod:`agent.compose.upping` brings a project up (networks,
volumes, services in dependency order, idempotently), :mod:`agent.compose.downing` takes it down,
and :mod:`agent.compose.listing` shows its containers as ``docker compose ps`` and ``ls`` do.
"""
