"""Compose projects on the Engine: every service replica one atomic deployment.

:mod:`agent.compose.projects` turns a loaded compose project into services with their replicas,
names, labels and configuration hashes; :mod:`agent.compose.upping` brings a project up (networks,
volumes, services in dependency order, idempotently), :mod:`agent.compose.downing` takes it down,
and :mod:`agent.compose.listing` shows its containers as ``docker compose ps`` and ``ls`` do.
:mod:`agent.compose.progress` is the ``--progress`` display (hand-written: rich's live display
costs about 90 ms of imports on every ``up``; this one only the standard library),
:mod:`agent.compose.pulling` pulls images with it, :mod:`agent.compose.imageremoving` is
``down --rmi`` and :mod:`agent.compose.eventing` formats ``events``.
"""
