"""The embedded demo project: Berth's main job on a default that needs no network.

``image`` builds the demo image from Debian's busybox-static into an OCI layout;
``compose.yaml`` is the demo project; ``running`` takes them through translate, pull and deploy.
"""

from pathlib import Path

COMPOSE_FILE = Path(__file__).with_name("compose.yaml")
