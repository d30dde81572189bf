"""Open every page of the built site in headless Chromium and check what a reader would see.

``python docs/tools/check_site.py docs/_build/html [--browser /usr/bin/chromium]``

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: standard
library only, no network, no driver). For each HTML page it checks that

- the page loads (``Page.loadEventFired``) with no failed request for a local file (a missing
  stylesheet, script, image or font) and no uncaught JavaScript exception;
- every maths element was typeset by MathJax (the local copy: no request leaves the machine) with
  no TeX error, and no TeX is left as text (a ``$`` followed by a command such as ``\\theta``);
- every image has decoded (``naturalWidth > 0``), and each notebook page that has image outputs in
  its executed notebook shows at least that many.

It prints one line per failing page and a summary; the exit status is 1 if any page failed.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBE = r"""
(async () => {
  const wait = ms => new Promise(r => setTimeout(r, ms));
  const maths = document.querySelectorAll('.math, span.math, div.math');
  let typeset = 0, errors = 0, mathjax = typeof MathJax !== 'undefined';
  if (maths.length && mathjax && MathJax.Hub) {
    await new Promise(r => MathJax.Hub.Queue(r));
  } else if (maths.length && mathjax && MathJax.startup) {
    await MathJax.startup.promise;
  }
  for (const el of maths) {
    if (el.querySelector('.MathJax_CHTML, .MathJax, mjx-container, .MathJax_SVG')) typeset++;
    if (el.querySelector('.MathJax_Error, merror, mjx-merror')) errors++;
  }
  for (let i = 0; i < 50; i++) {
    if ([...document.images].every(im => im.complete)) break;
    await wait(100);
  }
  // TeX that reached the page as text: a dollar sign followed by a TeX command outside code and maths
  const raw = [];
  for (const el of document.querySelectorAll('article p, article li, article td, article dd')) {
    const copy = el.cloneNode(true);
    const skip = 'code, pre, .math, .MathJax, .MathJax_CHTML, .MathJax_Preview, script';
    copy.querySelectorAll(skip).forEach(n => n.remove());
    const m = copy.textContent.match(/\$[^$]{0,80}?\\[A-Za-z]+/);
    if (m) raw.push(m[0].slice(0, 60));
  }
  const images = [...document.images];
  return JSON.stringify({
    maths: maths.length, typeset, errors, mathjax,
    images: images.length,
    broken: images.filter(im => !(im.complete && im.naturalWidth > 0)).map(im => im.getAttribute('src')),
    outputImages: document.querySelectorAll('.cell_output img').length,
    rawTex: raw,
    title: document.title,
  });
})()
"""


class Browser:
    """A headless Chromium spoken to over fds 3 (commands) and 4 (replies and events)."""

    def __init__(self, executable: str):
        self.profile = tempfile.mkdtemp(prefix="mathdl-site-check-")
        to_r, self._to_w = os.pipe()
        self._from_r, from_w = os.pipe()

        def fds():
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)

        args = [
            executable,
            "--headless=new",
            "--remote-debugging-pipe",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-sync",
            "--allow-file-access-from-files",
            f"--user-data-dir={self.profile}",
        ]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        self.proc = subprocess.Popen(
            args, pass_fds=(3, 4), preexec_fn=fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        os.close(to_r)
        os.close(from_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_r, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe (did it start?)")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, session: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method and ev.get("sessionId") == session:
                    return self.events.pop(i)
            self.events.append(self._read(deadline))

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        import shutil

        shutil.rmtree(self.profile, ignore_errors=True)


def expected_output_images(page: Path, site: Path) -> int:
    """Image outputs in the notebook a page was rendered from (0 for a page that is not a notebook)."""
    rel = page.relative_to(site).with_suffix(".ipynb")
    source = site.parent.parent / rel  # docs/_build/html/x.html -> docs/x.ipynb
    if not source.exists():
        return 0
    nb = json.loads(source.read_text(encoding="utf-8"))
    return sum(
        1
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
        if any(k.startswith("image/") for k in o.get("data", {}))
    )


def check(site: Path, executable: str, timeout: float, only: str | None = None) -> int:
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)
    if only:
        pages = [p for p in pages if p.relative_to(site).match(only)]
    browser = Browser(executable)
    failures = 0
    totals = {"pages": 0, "maths": 0, "images": 0}
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            browser.send(f"{domain}.enable", session=session)
        for page in pages:
            browser.events.clear()
            url = page.resolve().as_uri()
            problems = []
            browser.send("Page.navigate", {"url": url}, session=session)
            try:
                browser.wait_event("Page.loadEventFired", session, timeout)
            except TimeoutError:
                problems.append("did not finish loading")
            result = browser.send(
                "Runtime.evaluate",
                {"expression": PROBE, "awaitPromise": True, "returnByValue": True, "timeout": timeout * 1000},
                session=session,
                timeout=timeout + 5,
            )
            if "exceptionDetails" in result:
                problems.append(f"probe failed: {result['exceptionDetails'].get('text')}")
                info = {}
            else:
                info = json.loads(result["result"]["value"])
            for ev in browser.events:
                if ev.get("method") == "Network.loadingFailed" and ev["params"].get("type") != "Ping":
                    problems.append(f"a request failed ({ev['params'].get('errorText')})")
                elif ev.get("method") == "Network.requestWillBeSent":
                    req = ev["params"]["request"]["url"]
                    if not req.startswith(("file:", "data:", "about:", "blob:")):
                        problems.append(f"requested {req} (the site must work offline)")
                elif ev.get("method") == "Runtime.exceptionThrown":
                    d = ev["params"]["exceptionDetails"]
                    problems.append(f"JavaScript error: {d.get('exception', {}).get('description', d.get('text'))}")
            if info:
                if info["maths"] and not info["mathjax"]:
                    problems.append(f"{info['maths']} maths elements but MathJax did not load")
                elif info["typeset"] < info["maths"]:
                    problems.append(f"{info['maths'] - info['typeset']} of {info['maths']} maths elements not typeset")
                if info["errors"]:
                    problems.append(f"{info['errors']} maths elements with a TeX error")
                if info["rawTex"]:
                    problems.append(f"TeX shown as text ({len(info['rawTex'])}): {info['rawTex'][:2]}")
                if info["broken"]:
                    problems.append(f"images not shown: {info['broken'][:5]}")
                want = expected_output_images(page, site)
                if info["outputImages"] < want:
                    problems.append(f"{info['outputImages']} notebook plots shown, {want} in the executed notebook")
                totals["maths"] += info["maths"]
                totals["images"] += info["images"]
            totals["pages"] += 1
            if problems:
                failures += 1
                print(f"FAIL {page.relative_to(site)}: " + "; ".join(dict.fromkeys(problems)))
    finally:
        browser.close()
    print(
        f"site check: {totals['pages']} pages, {totals['maths']} maths elements, {totals['images']} images; "
        f"{failures} page(s) failed"
    )
    return 1 if failures or not pages else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the built site (docs/_build/html)")
    parser.add_argument("--browser", default=os.environ.get("CHROMIUM", "chromium"), help="Chromium executable")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per page")
    parser.add_argument("--only", default=None, help="check only the pages matching this glob, e.g. 'generated/api/*'")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").exists():
        print(f"check_site: no index.html in {args.site}; build the site first", file=sys.stderr)
        return 2
    return check(args.site, args.browser, args.timeout, args.only)


if __name__ == "__main__":
    sys.exit(main())
