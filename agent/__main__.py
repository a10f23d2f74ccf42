"""``python -m agent``: the berth command line (conmon's exit command runs it this way)."""

import sys


def _stopped_on_purpose(argv: list[str]) -> bool:
    """conmon's exit command after a requested stop has nothing to do: whoever stopped the container
    records its exit and tears it down, and the restart policy does not apply. Answering that
    without loading the CLI (the spec models take about a second to import here) lets ``stop``,
    which waits for conmon and so for this command, return that much sooner."""
    if len(argv) != 7 or argv[:2] != ["container", "_exited"] or argv[2::2][:2] != ["--root", "--run-root"]:
        return False
    import json
    from pathlib import Path

    from agent.runtime.paths import RunPaths

    paths = RunPaths.for_store(Path(argv[3]), Path(argv[5]))
    try:
        record = json.loads((paths.container(argv[6]) / "state.json").read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get("stop_requested") is True


if not _stopped_on_purpose(sys.argv[1:]):
    from agent.cli.main import main

    main()
