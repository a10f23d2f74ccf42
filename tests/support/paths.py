"""Where the project, the shared read-only material (``<project root>/../shared``) and tools sit."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
WORK = ROOT / ".work"
