/* xsite notes index: filter the list by status and tag.
 *
 * The page lists every note without this script; it shows the filter buttons and keeps the
 * chosen filters in the URL (#status=decided&tag=augmentation), so a filtered list can be
 * shared as a link. A note shows when it has one of the chosen statuses (if any) and every
 * chosen tag.
 */
(function () {
  "use strict";

  function readHash() {
    const params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    return { status: new Set(params.getAll("status")), tag: new Set(params.getAll("tag")) };
  }

  function writeHash(chosen) {
    const params = new URLSearchParams();
    for (const status of chosen.status) params.append("status", status);
    for (const tag of chosen.tag) params.append("tag", tag);
    const hash = params.toString();
    const url = window.location.pathname + window.location.search + (hash ? "#" + hash : "");
    window.history.replaceState(null, "", url);
  }

  function tagsOf(item) {
    try {
      const tags = JSON.parse(item.getAttribute("data-tags") || "[]");
      return Array.isArray(tags) ? tags.map(String) : [];
    } catch (e) {
      return [];
    }
  }

  function start() {
    const filters = document.querySelector(".xs-note-filters");
    if (!filters) return;
    const items = Array.from(document.querySelectorAll(".xs-note-list .xs-note-item"));
    const buttons = Array.from(filters.querySelectorAll("button[data-filter]"));
    const count = filters.querySelector(".xs-note-count");
    const chosen = readHash();

    function apply() {
      let shown = 0;
      for (const item of items) {
        const tags = tagsOf(item);
        const statusOk = !chosen.status.size || chosen.status.has(item.getAttribute("data-status"));
        const tagsOk = Array.from(chosen.tag).every((tag) => tags.includes(tag));
        item.hidden = !(statusOk && tagsOk);
        if (!item.hidden) shown += 1;
      }
      for (const button of buttons) {
        const on = chosen[button.getAttribute("data-filter")].has(button.getAttribute("data-value"));
        button.setAttribute("aria-pressed", on ? "true" : "false");
      }
      const filtered = chosen.status.size || chosen.tag.size;
      count.textContent = filtered ? `${shown} of ${items.length} notes` : "";
    }

    for (const button of buttons) {
      button.addEventListener("click", () => {
        const set = chosen[button.getAttribute("data-filter")];
        const value = button.getAttribute("data-value");
        if (set.has(value)) set.delete(value);
        else set.add(value);
        writeHash(chosen);
        apply();
      });
    }
    window.addEventListener("hashchange", () => {
      const next = readHash();
      chosen.status = next.status;
      chosen.tag = next.tag;
      apply();
    });
    filters.hidden = false;
    apply();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
