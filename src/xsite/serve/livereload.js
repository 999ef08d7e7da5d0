/* xsite serve: live reload. Injected into pages by `xsite serve` only, never published.
 *
 * Listens to the server's build events. A page reloads (keeping its scroll position) only
 * when a build changed the page itself or a file it loaded (its runs.json, a chart's
 * metrics.json); other open pages stay as they are. A failed build shows its error over
 * the page until a build succeeds; warnings show in a smaller box.
 */
(function () {
  "use strict";

  const script = document.currentScript;
  const SCROLL_KEY = "xsite:serve:scroll:" + location.pathname;
  let shownBuild = Number(script && script.getAttribute("data-build")) || 0;

  function restoreScroll() {
    try {
      const saved = sessionStorage.getItem(SCROLL_KEY);
      if (saved !== null) {
        sessionStorage.removeItem(SCROLL_KEY);
        const y = Number(saved);
        if (Number.isFinite(y)) window.scrollTo(0, y);
      }
    } catch (e) {
      /* storage disabled: start at the top */
    }
  }

  function sitePath(url) {
    const path = new URL(url, location.href).pathname;
    const relative = decodeURIComponent(path.replace(/^\//, ""));
    return relative === "" || relative.endsWith("/") ? relative + "index.html" : relative;
  }

  function usedPaths() {
    const used = new Set([sitePath(location.href)]);
    for (const entry of performance.getEntriesByType("resource")) {
      if (new URL(entry.name).origin === location.origin) used.add(sitePath(entry.name));
    }
    return used;
  }

  function banner(id, text, severe) {
    let box = document.getElementById(id);
    if (!text) {
      if (box) box.remove();
      return;
    }
    if (!box) {
      box = document.createElement("pre");
      box.id = id;
      box.setAttribute("role", "alert");
      box.style.cssText =
        "position:fixed;left:1rem;right:1rem;bottom:1rem;z-index:9999;margin:0;padding:0.8rem;" +
        "max-height:40vh;overflow:auto;white-space:pre-wrap;font:13px/1.4 monospace;" +
        "border-radius:6px;box-shadow:0 2px 12px rgba(0,0,0,.3);" +
        (severe ? "background:#8b1a1a;color:#fff;" : "background:#fff8c5;color:#3b2300;");
      document.body.append(box);
    }
    box.textContent = text;
  }

  function reload() {
    try {
      sessionStorage.setItem(SCROLL_KEY, String(window.scrollY));
    } catch (e) {
      /* storage disabled: reload at the top */
    }
    location.reload();
  }

  function onBuild(event) {
    let info;
    try {
      info = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (!info || info.build <= shownBuild) return;
    shownBuild = info.build;
    if (info.error) {
      banner("xsite-serve-error", "xsite: the last build failed; showing the one before.\n\n" + info.error, true);
      return;
    }
    banner("xsite-serve-error", "", true);
    const warnings = Array.isArray(info.warnings) ? info.warnings : [];
    banner("xsite-serve-warnings", warnings.length ? "xsite build warnings:\n" + warnings.join("\n") : "", false);
    const changed = info.changed;
    if (changed === null) return reload(); // too many to list: everything changed
    const used = usedPaths();
    if (changed.some((path) => used.has(path))) reload();
  }

  function connect() {
    const source = new EventSource("/__xsite/events?since=" + shownBuild);
    source.addEventListener("build", onBuild);
    // EventSource reconnects by itself after a dropped connection (server restarted).
  }

  restoreScroll();
  connect();
})();
