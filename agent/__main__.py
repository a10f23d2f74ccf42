"""``python -m agent``: the berth command line (conmon's exit command runs it this way)."""

from agent.cli.main import main

main()
