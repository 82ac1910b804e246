#!/usr/bin/env python3
"""Copies the web console's screenshots that the browser tests saved
(target/console-screenshots/, written by tests/e2e/test_console*.py) into docs/console/ for the
README and docs/console.md, reduced to 128 colours when Pillow is importable (a third of
the size; `pip install --target /tmp/pil pillow`, then `PYTHONPATH=/tmp/pil`), as they are
otherwise.

    python3 -m pytest tests/e2e/test_console*.py -q   # or the whole suite
    python3 scripts/console-screenshots.py
"""

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "target" / "console-screenshots"
TARGET = REPO / "docs" / "console"
PAGES = ["functions", "test", "configuration", "logs", "monitoring", "power-tuning", "triggers",
         "queues", "schedules", "phone-dark"]


def main() -> int:
    missing = [p for p in PAGES if not (SOURCE / f"{p}.png").exists()]
    if missing:
        print(f"not in {SOURCE}: {', '.join(missing)}; run the console's tests first",
              file=sys.stderr)
        return 1
    try:
        from PIL import Image
    except ImportError:
        Image = None
    TARGET.mkdir(parents=True, exist_ok=True)
    for page in PAGES:
        source, target = SOURCE / f"{page}.png", TARGET / f"{page}.png"
        if Image is None:
            shutil.copyfile(source, target)
        else:
            image = Image.open(source).convert("RGB")
            image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
        print(f"{target.relative_to(REPO)}: {target.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
