"""Look at the reports as a reader will: screenshot HTML pages (an eval's report.html, `agent cost --html`'s
dashboard) with headless Chromium, one PNG beside each page (or in --out), at a desktop width.

Chromium is not installed by default (Debian: `apt-get install chromium`); without it this says so in one line
and exits 2. No network: the pages are self-contained, and Chromium runs with background networking off.

Run: python bench/report_screens.py PAGE.html [PAGE.html ...] [--out DIR] [--width PX] [--height PX]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from tools.binaries import find_binary

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--hide-scrollbars")


def screenshot(chromium: str, page: Path, out: Path, width: int = 1000, height: int = 2400) -> Path:
    """A real browser's rendering of `page`, written to `out`."""
    done = subprocess.run([chromium, *FLAGS, f"--window-size={width},{height}", f"--screenshot={out}",
                           page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"chromium could not render {page}: {done.stderr.strip().splitlines()[-1:]}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, help="directory for the PNGs (default: beside each page)")
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--height", type=int, default=2400)
    args = parser.parse_args()
    chromium = find_binary("chromium") or find_binary("chromium-browser")
    if chromium is None:
        print("report_screens: no chromium on this machine (apt-get install chromium)", file=sys.stderr)
        return 2
    for page in args.pages:
        if not page.is_file():
            print(f"report_screens: {page}: not a file", file=sys.stderr)
            return 2
        where = (args.out or page.parent) / f"{page.stem}.png"
        where.parent.mkdir(parents=True, exist_ok=True)
        print(screenshot(chromium, page, where, args.width, args.height))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
