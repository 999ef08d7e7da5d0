/* xsite search: the search box in every page's header.
 *
 * Asks the site's Pagefind bundles (pagefind-runs/, pagefind-projects/, pagefind-notes/,
 * pagefind-models/, listed in search/index.json) and shows their results grouped, navigable with the arrow
 * keys. A word that finds nothing is searched again as the nearest word of
 * search/words.json (names, tags, params), which makes the search typo tolerant.
 * Classic script; nothing from the data is ever parsed as HTML.
 */
(function () {
  "use strict";

  const GROUPS = { runs: "Runs", notes: "Notes", projects: "Projects", models: "Models" };
  const PER_GROUP = 6;
  const DEBOUNCE_MS = 120;
  const script = document.currentScript;

  class SiteSearch {
    constructor(box) {
      this.box = box;
      this.input = box.querySelector("input");
      this.panel = box.querySelector(".xs-search-results");
      this.root = new URL("../", script.src); // search.js lives in <site>/assets/
      this.options = [];
      this.active = -1;
      this.timer = 0;
      this.latest = 0;
      this.index = null;
      this.bundles = new Map();
      this.words = null;
      this.input.addEventListener("input", () => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.search(this.input.value), DEBOUNCE_MS);
      });
      this.input.addEventListener("keydown", (e) => this.onKey(e));
      this.input.addEventListener("focus", () => {
        if (this.options.length || this.panel.childNodes.length) this.open(true);
      });
      document.addEventListener("click", (e) => {
        if (!this.box.contains(e.target)) this.open(false);
      });
      document.addEventListener("keydown", (e) => {
        const typing = e.target instanceof HTMLElement && e.target.closest("input, textarea, select, [contenteditable]");
        if (e.key === "/" && !typing) {
          e.preventDefault();
          this.input.focus();
        }
      });
    }

    /* data */

    async json(path) {
      const res = await fetch(new URL(path, this.root).href);
      if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
      return res.json();
    }

    bundle(kind) {
      if (!this.bundles.has(kind)) {
        const url = new URL(`pagefind-${kind}/pagefind.js`, this.root).href;
        this.bundles.set(kind, import(url).then(async (pagefind) => {
          await pagefind.options({ excerptLength: 16 });
          return pagefind;
        }));
      }
      return this.bundles.get(kind);
    }

    async searchAll(text) {
      if (!this.index) this.index = this.json("search/index.json");
      const { bundles } = await this.index;
      return Promise.all(bundles.map(async (kind) => {
        const pagefind = await this.bundle(kind);
        const found = await pagefind.search(text);
        const data = await Promise.all(found.results.slice(0, PER_GROUP).map((r) => r.data()));
        const items = data.filter((item) => matchesWord(item, text));
        const total = items.length ? found.results.length - (data.length - items.length) : 0;
        return { kind, total, items };
      }));
    }

    /** The query with each word that matches no known word replaced by the nearest one. */
    async corrected(text) {
      if (!this.words) this.words = this.json("search/words.json").then((d) => d.words);
      const words = await this.words;
      let changed = false;
      const out = text.split(/(\s+)/).map((part) => {
        const word = part.toLowerCase();
        if (!/^[\p{L}\p{N}]{3,}$/u.test(word) || words.some((w) => w.startsWith(word))) return part;
        const near = nearest(word, words);
        if (near) changed = true;
        return near || part;
      });
      return changed ? out.join("") : null;
    }

    async search(text) {
      const query = text.trim();
      const ticket = ++this.latest;
      if (!query) {
        this.render([], null);
        this.open(false);
        this.panel.setAttribute("data-query", "");
        return;
      }
      if (window.location.protocol === "file:") {
        this.message("Search needs the site served over HTTP: any static host, `xsite serve` or `python -m http.server`.");
        return;
      }
      try {
        let groups = await this.searchAll(query);
        let instead = null;
        if (groups.every((g) => g.total === 0)) {
          instead = await this.corrected(query);
          if (instead) groups = await this.searchAll(instead);
        }
        if (ticket === this.latest) this.render(groups, instead);
      } catch (err) {
        if (ticket === this.latest) this.message(`Search is unavailable: ${err && err.message ? err.message : err}`);
      }
      if (ticket === this.latest) this.panel.setAttribute("data-query", query); // what it shows
    }

    /* view */

    message(text) {
      this.options = [];
      this.panel.replaceChildren(el("p", "xs-search-message", text));
      this.open(true);
    }

    render(groups, instead) {
      const nodes = [];
      this.options = [];
      this.active = -1;
      this.input.removeAttribute("aria-activedescendant");
      if (instead) nodes.push(el("p", "xs-search-message", `No results for “${this.input.value.trim()}”; showing “${instead}”.`));
      for (const group of groups) {
        if (!group.items.length) continue;
        const section = el("div", "xs-search-group");
        section.setAttribute("role", "group");
        const label = el("div", "xs-search-group-label", `${GROUPS[group.kind] || group.kind} (${group.total})`);
        label.id = `xs-search-group-${group.kind}`;
        section.setAttribute("aria-labelledby", label.id);
        section.append(label);
        for (const item of group.items) section.append(this.option(item));
        nodes.push(section);
      }
      if (groups.length && !this.options.length) nodes.push(el("p", "xs-search-message", "Nothing found."));
      this.panel.replaceChildren(...nodes);
      this.open(nodes.length > 0);
    }

    option(item) {
      const link = el("a", "xs-search-result");
      link.href = item.url;
      link.id = `xs-search-option-${this.options.length}`;
      link.setAttribute("role", "option");
      link.tabIndex = -1;
      link.append(el("span", "xs-search-title", (item.meta && item.meta.title) || item.url));
      const excerpt = el("span", "xs-search-excerpt");
      appendExcerpt(excerpt, item.excerpt || "");
      link.append(excerpt);
      this.options.push(link);
      return link;
    }

    open(show) {
      this.panel.hidden = !show;
      this.input.setAttribute("aria-expanded", show ? "true" : "false");
    }

    onKey(e) {
      if (e.key === "Escape") {
        this.open(false);
        return;
      }
      if (!this.options.length) return;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        this.open(true);
        const step = e.key === "ArrowDown" ? 1 : -1;
        this.select((this.active + step + this.options.length) % this.options.length);
      } else if (e.key === "Enter") {
        const chosen = this.options[Math.max(this.active, 0)];
        e.preventDefault();
        window.location.href = chosen.href;
      }
    }

    select(index) {
      if (this.active >= 0) this.options[this.active].removeAttribute("aria-selected");
      this.active = index;
      const option = this.options[index];
      option.setAttribute("aria-selected", "true");
      option.scrollIntoView({ block: "nearest" });
      this.input.setAttribute("aria-activedescendant", option.id);
    }
  }

  /** Pagefind's excerpt is escaped text with <mark> around matches: rebuild it as nodes. */
  function appendExcerpt(parent, html) {
    const decoder = document.createElement("textarea");
    let marked = false;
    for (const part of html.split(/(<\/?mark>)/)) {
      if (part === "<mark>" || part === "</mark>") {
        marked = part === "<mark>";
        continue;
      }
      decoder.innerHTML = part; // a textarea's content is text: entities decode, no elements
      const text = decoder.value;
      if (text) parent.append(marked ? el("mark", null, text) : document.createTextNode(text));
    }
  }

  /** The known word closest to ``word`` (optimal string alignment distance), if close. */
  // Whether a result matched a word of the query, not just a one- or two-letter word that
  // starts it: Pagefind, finding no word of a bundle that a term prefixes, falls back to
  // the longest indexed word that prefixes the term ("adamw" finds every "a").
  function matchesWord(item, query) {
    const terms = query.toLowerCase().split(/\s+/).filter((t) => t.length >= 3);
    const marks = Array.from(String(item.excerpt || "").matchAll(/<mark>(.*?)<\/mark>/g),
      (m) => m[1].toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ""));
    if (!terms.length || !marks.length) return true;
    return marks.some((mark) => mark.length >= 3 || terms.includes(mark));
  }

  function nearest(word, words) {
    const limit = word.length <= 4 ? 1 : 2;
    let best = null;
    let bestDistance = limit + 1;
    for (const candidate of words) {
      if (Math.abs(candidate.length - word.length) >= bestDistance) continue;
      const d = distance(word, candidate, bestDistance);
      if (d < bestDistance) {
        best = candidate;
        bestDistance = d;
      }
    }
    return best;
  }

  function distance(a, b, cap) {
    let previous2 = null;
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const row = [i];
      let smallest = i;
      for (let j = 1; j <= b.length; j++) {
        const cost = a[i - 1] === b[j - 1] ? 0 : 1;
        let d = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost);
        if (previous2 && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
          d = Math.min(d, previous2[j - 2] + 1);
        }
        row.push(d);
        smallest = Math.min(smallest, d);
      }
      if (smallest >= cap) return cap;
      previous2 = previous;
      previous = row;
    }
    return previous[b.length];
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function start() {
    for (const box of document.querySelectorAll(".xs-search")) new SiteSearch(box);
  }

  window.xsite = window.xsite || {};
  window.xsite.search = { nearest, appendExcerpt };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
