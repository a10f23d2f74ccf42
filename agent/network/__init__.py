"""Container networks: bridge networks with IPAM, published ports and DNS, through netavark.

netavark (podman 4's network backend, Debian) sets up a network namespace from a JSON description:
the bridge, the veth pair, the addresses it is given, iptables rules for published ports and
masquerading, and aardvark-dns for names on the network. It keeps no state of its own about
addresses, so Berth does what podman does around it:

```
store (persistent):  networks/<name>.json            the network's definition (subnet, bridge, ...)
run dir (tmpfs):     networks/leases.json            addresses handed out, per network and container
                     networks/netavark/              netavark's --config dir (aardvark-dns state)
                     netns/<container>               the container's network namespace (bind mount)
```

Berth's networks live in their own netavark config directory, so podman's networks in
/etc/containers/networks and Berth's never see each other.
"""
