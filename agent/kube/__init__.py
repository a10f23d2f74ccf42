"""``berth kube play``: Kubernetes manifests run on this host as ``podman kube play`` runs them."""
