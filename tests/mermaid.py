"""Mermaid diagrams rendered for real: npm ``mermaid`` (pinned in tests/js) running in
headless Chromium, which lays the diagram out as a browser does. A page holds the diagram
texts, renders each with ``mermaid.render`` and writes the results into itself; Chromium
prints the page once its scripts are done (``--dump-dom``)."""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path

from debian import ensure
from node import npm_packages

_PAGE = """<!doctype html>
<html><body><pre id="results">not rendered</pre>
<script src="{script}"></script>
<script>
mermaid.initialize({{startOnLoad: false, securityLevel: "strict"}});
(async () => {{
  const results = [];
  for (const [i, text] of {texts}.entries()) {{
    try {{
      const {{svg}} = await mermaid.render("diagram" + i, text);
      results.push({{svg}});
    }} catch (e) {{
      results.push({{error: String((e && e.message) || e)}});
    }}
  }}
  document.getElementById("results").textContent = JSON.stringify(results);
}})();
</script></body></html>
"""


def render(texts: list[str], folder: Path) -> list[dict[str, str]]:
    """Each Mermaid text rendered: ``{"svg": ...}``, or ``{"error": ...}`` with Mermaid's
    error message."""
    chromium = ensure("chromium", "chromium")
    script = npm_packages() / "mermaid" / "dist" / "mermaid.min.js"
    page = folder / "mermaid.html"
    page.write_text(_PAGE.format(script=script.as_uri(), texts=json.dumps(texts)), "utf-8")
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={folder / 'profile'}",
         # virtual time: the page's scripts run to their end before the DOM is printed
         "--virtual-time-budget=60000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=300, check=False)
    found = re.search(r'<pre id="results">(.*?)</pre>', done.stdout, re.S)
    assert found is not None, f"Chromium printed no page (exit {done.returncode}): " \
                              f"{done.stderr[-2000:]}"
    assert found.group(1) != "not rendered", "the page's scripts did not finish"
    results: list[dict[str, str]] = json.loads(html.unescape(found.group(1)))
    return results


def texts_of(svg: str) -> list[str]:
    """The texts a rendered diagram shows."""
    svg = re.sub(r"<style.*?</style>", "", svg, flags=re.S)
    return [html.unescape(t).strip() for t in re.findall(r">([^<>]+)<", svg) if t.strip()]
