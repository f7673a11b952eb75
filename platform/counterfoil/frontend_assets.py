"""Vendor GOV.UK Frontend from node_modules into our static files (run at install time).

The compiled stylesheet points at /assets/…; we rewrite those to paths relative to the
stylesheet so the app serves everything itself under /static/, with no CDN.
"""

import shutil
import sys
from pathlib import Path

from counterfoil.environment import REPOSITORY_ROOT

SOURCE = REPOSITORY_ROOT / "node_modules" / "govuk-frontend" / "dist" / "govuk"
TARGET = Path(__file__).resolve().parent / "static" / "vendor" / "govuk-frontend"


def vendor_govuk_frontend(source: Path = SOURCE, target: Path = TARGET) -> Path:
    stylesheet = source / "govuk-frontend.min.css"
    if not stylesheet.exists():
        raise SystemExit(f"GOV.UK Frontend is not installed at {source}: run `npm ci` first.")
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copytree(source / "assets", target / "assets")
    css = stylesheet.read_text(encoding="utf-8").replace("url(/assets/", "url(assets/")
    css = css.replace("/*# sourceMappingURL=govuk-frontend.min.css.map */", "")
    (target / "govuk-frontend.min.css").write_text(css, encoding="utf-8")
    script = (source / "govuk-frontend.min.js").read_text(encoding="utf-8")
    script = script.replace("//# sourceMappingURL=govuk-frontend.min.js.map", "")
    (target / "govuk-frontend.min.js").write_text(script, encoding="utf-8")
    return target


if __name__ == "__main__":
    print(f"GOV.UK Frontend vendored into {vendor_govuk_frontend()}", file=sys.stderr)
