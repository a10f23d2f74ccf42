"""Running deployments: OCI bundles, runc under conmon, restarts, logs, exec, health, metrics.

Where a running container's things live (docker and podman keep the same split):

```
store (persistent, <root> = /var/lib/rpm-ostree/containers):
  deployments/<name>/rootfs            the shared merged tree: only ever an overlay *lower* layer
  containers/<name>/<serial>/upper     the container's writable layer (kept across restarts,
  containers/<name>/<serial>/work      dropped with its version, as docker drops it on re-create)
  containers/<name>/logs/ctr.log       conmon's k8s-file log (rotated by size)
  volumes/<volume>/_data               named volumes (outlive deployments, as docker's do)

runtime state (tmpfs, gone at reboot; agent.runtime.paths):
  <run>/runc/                          runc --root
  <run>/containers/<name>/             bundle/config.json (the OCI runtime spec, NOT the
                                       deployment's config.json), bundle/rootfs (where the
                                       overlay is mounted while runc creates the
                                       container; then only in the container's
                                       mount namespace), conmon pid and exit files, sockets,
                                       etc/{hosts,hostname,resolv.conf}, secrets/ (0600 files)
```
"""
