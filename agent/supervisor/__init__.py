"""The local ``berth agent`` (no kubeconfig): runs each container's probes on their schedules,
records health for ``container health``, restarts on liveness failure, serves ``/metrics``.

It knows containers only through :class:`~agent.supervisor.targets.Target` values handed to it
by the runtime, so it neither starts nor inspects containers itself: probes connect into the
container's network namespace, exec probes and restarts call the runtime's functions.
"""
