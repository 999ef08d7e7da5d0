/* xsite comparison pages: runs side by side (docs/compare.md).
 *
 * Fills <div class="xs-compare" data-root data-settings data-metric-keys>. The runs are
 * settings.runs (named and project comparisons) or, on the ad-hoc page (settings.runs is
 * null), the URL's #runs=<id>,<id>,… . For those runs it reads runs/<id>/run.json (at most
 * CONCURRENCY at a time) and shows: the runs, a diff of exactly two, a metrics table, metric
 * charts (charts.js, overlaying runs/<id>/metrics.json), params, parallel coordinates, a
 * scatter plot, the code and data each run used, and the charts and images the runs logged
 * (Run.log_chart, log_image): line and point charts of one name overlaid, run by run (PR
 * and ROC curves), other charts (confusion matrices) and images side by side.
 *
 * Classic ES2020 script, no framework. Everything from the data (names, params, keys, …)
 * is untrusted: it only ever becomes text (textContent, attributes, Vega data), never HTML.
 * Needs window.vegaEmbed (assets/vega.js) and window.xsite.charts (charts.js), both loaded
 * before this deferred script.
 */
(function () {
  "use strict";

  const RUN_ID = /^[A-Za-z0-9_-]+$/;
  const CONCURRENCY = 16;
  const MISSING = "—";
  const RUNS_OPEN_MAX = 12; // the runs list starts folded above this many runs
  // Up to this many runs, charts start before the runs' details are read. Above it they wait:
  // drawing a big overlay keeps the page busy for seconds at a time, and the tables would
  // wait for the charts (each run.json to read needs a moment of the page's time).
  // (compare.html preloads the charts' data of comparisons up to this size: keep them equal.)
  const CHARTS_FIRST_MAX = 200;
  const MAX_CATEGORIES = 12; // a text param with more distinct values gets no parallel axis
  const MAX_PARALLEL_AXES = 16;
  const CHART_SPEC = "assets/metric-chart.vl.json";
  const RECORDS_MAX = 24; // runs whose logged charts and images are shown side by side
  // A logged record's artifact name, as xsite.store.records writes it.
  const RECORD = /^(tables|charts|images)\/(.+?)(?:\/step-(\d+))?(\.parquet|\.vl\.json|\.png|\.jpe?g|\.gif|\.webp)$/;
  const RUN_FIELD = "xsite_run"; // the field an overlay adds to each run's points
  // Vega's default category scheme (tableau10); beyond 10 runs, hues around the circle.
  const TABLEAU10 = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b",
    "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac"];
  const hasOwn = (obj, key) => obj != null && Object.prototype.hasOwnProperty.call(obj, key);

  /* ------------------------------------------------------------------ helpers */

  function el(tag, props, children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === "text") node.textContent = String(v);
        else if (k === "className") node.className = v;
        else if (k === "hidden") node.hidden = Boolean(v);
        else node.setAttribute(k, v === true ? "" : String(v));
      }
    }
    if (children) for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function bdi(text) {
    return el("bdi", { text });
  }

  const COUNT = new Intl.NumberFormat("en");

  function count(n) {
    return COUNT.format(n);
  }

  function plural(n, one, many) {
    return `${count(n)} ${n === 1 ? one : many || one + "s"}`;
  }

  function nextTask() {
    return new Promise((resolve) => setTimeout(resolve, 0));
  }

  function reasonOf(err) {
    const msg = err && err.message ? String(err.message) : String(err);
    return msg.length > 160 ? msg.slice(0, 157) + "…" : msg;
  }

  function shorten(text, max) {
    const s = String(text);
    return s.length > max ? s.slice(0, max - 1) + "…" : s;
  }

  // Metric values as the site's JSON writes them: numbers, or "NaN" / "Infinity" strings.
  function toNumber(v) {
    if (typeof v === "number") return v;
    if (v === "NaN") return NaN;
    if (v === "Infinity") return Infinity;
    if (v === "-Infinity") return -Infinity;
    return null;
  }

  // Like the templates' `number` filter: 4 significant digits, exponents for extremes.
  function formatNumber(v) {
    if (v === null || v === undefined) return MISSING;
    if (Number.isNaN(v)) return "NaN";
    if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    const a = Math.abs(v);
    if (v !== 0 && (a >= 1e6 || a < 1e-4)) return v.toExponential(3);
    if (a >= 1e4) return v.toExponential(3);
    return String(Number(v.toPrecision(4)));
  }

  function paramText(v) {
    if (v === undefined) return MISSING;
    if (v === null) return "null";
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    try {
      return JSON.stringify(v);
    } catch (e) {
      return String(v);
    }
  }

  function canon(v) {
    if (v === undefined) return "\u0000missing";
    try {
      return JSON.stringify(v);
    } catch (e) {
      return String(v);
    }
  }

  function hexOfHsl(h, s, l) {
    const a = s * Math.min(l, 1 - l);
    const f = (n) => {
      const k = (n + h / 30) % 12;
      const c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
      return Math.round(255 * c).toString(16).padStart(2, "0");
    };
    return `#${f(0)}${f(8)}${f(4)}`;
  }

  function palette(n) {
    if (n <= TABLEAU10.length) return TABLEAU10.slice(0, n);
    // The golden angle keeps neighbouring runs apart; two lightness bands add contrast.
    return Array.from({ length: n }, (_, i) => hexOfHsl((i * 137.508) % 360, 0.62, i % 2 ? 0.42 : 0.55));
  }

  function shortCommit(c) {
    return typeof c === "string" && c ? c.slice(0, 10) : null;
  }

  /* ---------------------------------------------------------------- the page */

  const fetchCache = new Map(); // run id -> Promise<run.json>
  const holderViews = new WeakMap(); // chart holder -> the vega-embed result it shows
  const drawSeq = new WeakMap(); // chart holder -> number of its latest drawing

  function fetchRun(root, id) {
    let p = fetchCache.get(id);
    if (!p) {
      p = fetch(`${root}runs/${encodeURIComponent(id)}/run.json`, { credentials: "same-origin" }).then((res) => {
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return res.json();
      }).then((doc) => {
        if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new Error("not a run record");
        return doc;
      });
      p.catch(() => fetchCache.delete(id)); // a later view may try again
      fetchCache.set(id, p);
    }
    return p;
  }

  // Each id's run.json, at most CONCURRENCY requests at a time, in the order of `ids`.
  async function loadRuns(root, ids, onProgress) {
    const results = new Array(ids.length);
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < ids.length) {
        const i = next++;
        try {
          results[i] = { doc: await fetchRun(root, ids[i]) };
        } catch (err) {
          results[i] = { error: reasonOf(err) };
        }
        done++;
        onProgress(done);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, worker));
    return results;
  }

  function parseHash(hash) {
    const ids = [];
    const ignored = [];
    const seen = new Set();
    for (const part of String(hash || "").replace(/^#/, "").split("&")) {
      const eq = part.indexOf("=");
      if (eq < 0 || part.slice(0, eq) !== "runs") continue;
      let value = part.slice(eq + 1);
      try {
        value = decodeURIComponent(value.replace(/\+/g, " "));
      } catch (e) {
        /* keep the raw text: it is checked below anyway */
      }
      for (const raw of value.split(",")) {
        const id = raw.trim();
        if (!id) continue;
        if (!RUN_ID.test(id)) ignored.push(id);
        else if (!seen.has(id)) {
          seen.add(id);
          ids.push(id);
        }
      }
    }
    return { ids, ignored };
  }

  // A run as the views use it, from its run.json (or, before that, the page's list).
  function makeRun(id, index, color, known, doc, error) {
    const d = doc || {};
    const obj = (v) => (v && typeof v === "object" && !Array.isArray(v) ? v : {});
    const str = (v, fallback) => (typeof v === "string" && v ? v : fallback);
    return {
      id,
      index,
      color,
      doc,
      error,
      name: str(d.name, known ? known.name : id),
      project: str(d.project, known ? known.project : ""),
      status: str(d.status, known ? known.status : ""),
      params: obj(d.params),
      metrics: obj(d.metrics),
      git: obj(d.git),
      system: obj(d.system),
      datasets: Array.isArray(d.datasets) ? d.datasets : null,
      artifacts: Array.isArray(d.artifacts) ? d.artifacts : [],
    };
  }

  class ComparePage {
    constructor(box) {
      this.box = box;
      this.root = box.getAttribute("data-root") || "";
      try {
        this.settings = JSON.parse(box.getAttribute("data-settings") || "{}") || {};
      } catch (e) {
        this.settings = {};
      }
      try {
        const keys = JSON.parse(box.getAttribute("data-metric-keys") || "[]");
        this.metricKeys = Array.isArray(keys) ? keys.map(String) : [];
      } catch (e) {
        this.metricKeys = [];
      }
      const s = this.settings;
      this.adhoc = !Array.isArray(s.runs);
      this.directions = s.directions && typeof s.directions === "object" ? s.directions : {};
      this.chosenMetrics = Array.isArray(s.metrics) ? s.metrics.map(String) : [];
      this.headline = typeof s.headline === "string" && s.headline ? s.headline : null;
      // Names, projects and statuses the page already lists, by run id.
      this.known = new Map();
      for (const li of box.querySelectorAll(".xs-compare-runs li[data-run-id]")) {
        this.known.set(li.getAttribute("data-run-id"), {
          name: li.textContent.trim(),
          project: li.getAttribute("data-project") || "",
          status: li.getAttribute("data-status") || "",
        });
      }
      this.generation = 0;
      this.vegaViews = [];
      this.redrawers = [];
      this.watchTheme();
      if (this.adhoc) {
        window.addEventListener("hashchange", () => {
          // Only a new selection changes the view, not a jump to an anchor (#main).
          const hash = window.location.hash.replace(/^#/, "");
          if (hash && !/(^|&)runs=/.test(hash)) return;
          this.show(parseHash(hash));
        });
        this.show(parseHash(window.location.hash));
      } else {
        const ids = s.runs.map(String);
        this.show({ ids: ids.filter((id) => RUN_ID.test(id)), ignored: ids.filter((id) => !RUN_ID.test(id)) });
      }
    }

    watchTheme() {
      let pending = false;
      const redraw = () => {
        if (pending) return;
        pending = true;
        requestAnimationFrame(() => {
          pending = false;
          for (const r of this.redrawers) r();
        });
      };
      if (window.matchMedia) {
        const mq = window.matchMedia("(prefers-color-scheme: dark)");
        if (mq.addEventListener) mq.addEventListener("change", redraw);
      }
    }

    /* one view: a selection of runs */

    async show({ ids, ignored }) {
      const generation = ++this.generation;
      for (const v of this.vegaViews) v.finalize();
      this.vegaViews = [];
      this.redrawers = [];
      const view = el("div", { className: "xs-compare-view" });
      this.box.replaceChildren(view);
      this.box.setAttribute("aria-busy", "true");
      this.box.removeAttribute("data-ready");

      const messages = el("div", { className: "xs-compare-messages" });
      view.append(messages);
      if (ignored.length) {
        const listed = ignored.slice(0, 5).map((v) => `“${shorten(v, 40)}”`).join(", ");
        messages.append(el("p", {
          className: "xs-compare-warning",
          role: "status",
          text: `Ignored ${plural(ignored.length, "value")} that ${ignored.length === 1 ? "is" : "are"} not a run id: ${listed}${ignored.length > 5 ? ", …" : ""}.`,
        }));
      }
      if (!ids.length) {
        view.append(this.emptyState());
        this.finish();
        return;
      }

      const colors = palette(ids.length);
      const known = !this.adhoc && ids.every((id) => this.known.has(id));
      const chartsFirst = known && ids.length <= CHARTS_FIRST_MAX;
      let runs = ids.map((id, i) => makeRun(id, i, colors[i], this.known.get(id), null, null));

      const toolbar = this.toolbar(ids);
      const progress = el("p", { className: "xs-compare-status xs-muted", role: "status" });
      const toc = el("nav", { className: "xs-toc xs-compare-toc", "aria-label": "On this page" });
      const slots = {};
      const slot = (id, title) => {
        const heading = el("h2", { id: `${id}-heading`, text: title });
        const body = el("div", { className: "xs-compare-body" });
        const section = el("section", {
          id,
          className: "xs-section xs-compare-section",
          "aria-labelledby": `${id}-heading`,
        }, [heading, body]);
        const link = el("a", { href: `#${id}`, text: title });
        // The address holds the selection (#runs=…): move to the section without changing it.
        link.addEventListener("click", (event) => {
          event.preventDefault();
          section.scrollIntoView();
        });
        slots[id] = { section, body, link };
        toc.append(link);
        return section;
      };
      view.append(
        toolbar,
        progress,
        toc,
        slot("compare-runs", "Runs"),
        ...(ids.length === 2 ? [slot("compare-diff", "What differs")] : []),
        slot("compare-metrics", "Metrics"),
        slot("compare-charts", "Metric charts"),
        slot("compare-params", "Params"),
        slot("compare-parallel", "Parallel coordinates"),
        slot("compare-scatter", "Scatter"),
        slot("compare-code", "Code and data")
      );
      this.slots = slots;
      this.slot = slot;
      const loading = () => el("p", { className: "xs-chart-status", text: "Loading…" });
      for (const { body } of Object.values(slots)) body.append(loading());

      if (known) this.renderRuns(runs);
      if (chartsFirst) this.renderCharts(runs, this.chosenMetrics.length ? this.chosenMetrics : this.metricKeys);
      else if (ids.length > CHARTS_FIRST_MAX) {
        slots["compare-charts"].body.replaceChildren(el("p", {
          className: "xs-chart-status",
          text: `With ${plural(ids.length, "run")}, the charts are drawn once the runs' details are in.`,
        }));
      }

      progress.textContent = `Loading ${plural(ids.length, "run")}…`;
      let shown = 0;
      const results = await loadRuns(this.root, ids, (done) => {
        // At most about one update a frame: the count is read, not watched.
        if (generation !== this.generation || done === ids.length || done - shown < Math.max(1, ids.length / 100)) return;
        shown = done;
        progress.textContent = `Loading runs… ${count(done)} of ${count(ids.length)}`;
      });
      if (generation !== this.generation) return; // the selection changed meanwhile
      progress.remove();

      runs = ids.map((id, i) => makeRun(id, i, colors[i], this.known.get(id), results[i].doc, results[i].error));
      const failed = runs.filter((r) => r.error);
      const loaded = runs.filter((r) => !r.error);
      if (failed.length) {
        const names = failed.slice(0, 10).map((r) => `${r.name === r.id ? r.id : `${r.name} (${r.id})`}: ${r.error}`);
        messages.append(el("p", {
          className: "xs-compare-error",
          role: "alert",
          text: `Could not load ${plural(failed.length, "run")}: ${names.join("; ")}${failed.length > 10 ? "; …" : ""}.` +
            (window.location.protocol === "file:" ? " Open the site through a web server, e.g. xsite serve." : ""),
        }));
      }

      const keys = this.chosenMetrics.length ? this.chosenMetrics : this.metricKeysOf(loaded);
      this.renderRuns(runs);
      if (slots["compare-diff"]) this.renderDiff(loaded);
      this.renderMetrics(loaded, keys);
      this.renderParams(loaded);
      this.renderCode(loaded);
      this.finish();
      if (!chartsFirst) this.renderCharts(loaded, keys);
      // The Vega charts of this page next, each in a task of its own, so the tables above
      // show first and the page stays responsive.
      await nextTask();
      if (generation !== this.generation) return;
      this.renderParallel(loaded, keys);
      await nextTask();
      if (generation !== this.generation) return;
      this.renderScatter(loaded, keys);
      await nextTask();
      if (generation !== this.generation) return;
      this.renderRecords(loaded);
    }

    finish() {
      this.box.removeAttribute("aria-busy");
      this.box.setAttribute("data-ready", "true");
    }

    metricKeysOf(runs) {
      const keys = new Set();
      for (const r of runs) for (const k of Object.keys(r.metrics)) keys.add(k);
      return Array.from(keys).sort();
    }

    direction(key) {
      return this.directions[key] === "min" ? "min" : "max";
    }

    runUrl(id) {
      return `${this.root}runs/${encodeURIComponent(id)}/`;
    }

    // A file of a run's folder, by its path there (run.json's artifact paths), each part
    // of the path encoded: a name may hold "#", "?" or spaces.
    artifactUrl(id, path) {
      return this.runUrl(id) + path.split("/").map(encodeURIComponent).join("/");
    }

    emptyState() {
      return el("div", { className: "xs-compare-empty" }, [
        el("p", { className: "xs-empty", text: "No runs selected yet." }),
        el("p", {}, [
          "To compare runs, tick them in a project's runs table (start from the ",
          el("a", { href: this.root || "./", text: "home page" }),
          ") and choose Compare. A comparison is shared as a link: this page's address lists its runs, as in ",
          el("code", { text: "compare/#runs=<id>,<id>" }),
          ".",
        ]),
      ]);
    }

    toolbar(ids) {
      const status = el("span", { className: "xs-compare-copied xs-muted", role: "status" });
      const copy = el("button", { type: "button", className: "xs-button", text: "Copy link" });
      copy.addEventListener("click", () => copyText(window.location.href, status));
      const items = [copy];
      if (!this.adhoc) {
        const link = el("a", {
          className: "xs-button",
          href: `${this.root}compare/#runs=${ids.join(",")}`,
          text: "Edit this selection",
        });
        items.push(link);
      }
      return el("div", { className: "xs-compare-toolbar" }, [
        el("span", { className: "xs-compare-count", text: `${plural(ids.length, "run")} compared` }),
        ...items,
        status,
      ]);
    }

    /* 1. the runs */

    swatch(run) {
      const s = el("span", { className: "xs-swatch", "aria-hidden": "true" });
      s.style.backgroundColor = run.color;
      return s;
    }

    runLink(run) {
      return el("a", { href: this.runUrl(run.id) }, [this.swatch(run), bdi(run.name)]);
    }

    renderRuns(runs) {
      const { body } = this.slots["compare-runs"];
      const rows = runs.map((run) => {
        const status = run.status
          ? el("span", { className: `xs-status xs-status-${run.status.replace(/[^a-z]/g, "")}`, text: run.status })
          : "";
        const cells = [
          el("th", { scope: "row" }, [this.runLink(run)]),
          el("td", {}, [bdi(run.project || MISSING)]),
          el("td", {}, [status]),
          el("td", {}, [el("code", { text: run.id })]),
        ];
        if (run.error) cells[3].append(" ", el("span", { className: "xs-badge xs-badge-warn", text: "not loaded" }));
        if (this.adhoc) {
          const remove = el("button", {
            type: "button",
            className: "xs-button xs-button-small",
            text: "Remove",
            "aria-label": `Remove ${run.name} from the comparison`,
          });
          remove.addEventListener("click", () => {
            const rest = runs.filter((r) => r.id !== run.id).map((r) => r.id);
            window.location.hash = `runs=${rest.join(",")}`;
          });
          cells.push(el("td", {}, [remove]));
        }
        return el("tr", { "data-run-id": run.id }, cells);
      });
      const head = ["Run", "Project", "Status", "Id", ...(this.adhoc ? [""] : [])];
      const table = el("table", { className: "xs-table xs-compare-runs-table" }, [
        el("thead", {}, [el("tr", {}, head.map((h) => el("th", { scope: "col" }, h ? [h] : [el("span", { className: "xs-visually-hidden", text: "Remove" })])))]),
        el("tbody", {}, rows),
      ]);
      const wrap = el("div", { className: "xs-table-wrap" }, [table]);
      if (runs.length > RUNS_OPEN_MAX) {
        const details = el("details", {}, [el("summary", { text: `${plural(runs.length, "run")}: show the list` }), wrap]);
        body.replaceChildren(details);
      } else {
        body.replaceChildren(wrap);
      }
    }

    /* header row shared by the tables with one column per run */

    runHeader(runs, first) {
      return el("thead", {}, [el("tr", {}, [
        el("th", { scope: "col", text: first }),
        ...runs.map((r) => el("th", { scope: "col", className: "xs-compare-run-col" }, [this.runLink(r)])),
      ])]);
    }

    /* 8. the diff of two runs */

    renderDiff(runs) {
      const { body } = this.slots["compare-diff"];
      if (runs.length !== 2) {
        body.replaceChildren(el("p", { className: "xs-empty", text: "Both runs must load to show what differs." }));
        return;
      }
      const [a, b] = runs;
      const parts = [];
      const pair = (title, rows) => {
        if (!rows.length) return;
        const table = el("table", { className: "xs-table xs-compare-diff" }, [
          el("thead", {}, [el("tr", {}, [
            el("th", { scope: "col", text: title }),
            el("th", { scope: "col" }, [this.runLink(a)]),
            el("th", { scope: "col" }, [this.runLink(b)]),
          ])]),
          el("tbody", {}, rows.map(([key, x, y]) => el("tr", {}, [
            el("th", { scope: "row" }, [bdi(key)]),
            el("td", {}, [el("span", { className: "xs-value", text: x })]),
            el("td", {}, [el("span", { className: "xs-value", text: y })]),
          ]))),
        ]);
        parts.push(el("div", { className: "xs-table-wrap" }, [table]));
      };

      const paramKeys = Array.from(new Set([...Object.keys(a.params), ...Object.keys(b.params)])).sort();
      const paramRows = [];
      for (const k of paramKeys) {
        const x = hasOwn(a.params, k) ? a.params[k] : undefined;
        const y = hasOwn(b.params, k) ? b.params[k] : undefined;
        if (canon(x) !== canon(y)) paramRows.push([k, paramText(x), paramText(y)]);
      }
      pair("Param", paramRows);

      const env = [];
      const str = (v) => (v === undefined || v === null || v === "" ? MISSING : String(v));
      const ga = a.git;
      const gb = b.git;
      if (str(ga.commit) !== str(gb.commit)) env.push(["git commit", str(shortCommit(ga.commit)), str(shortCommit(gb.commit))]);
      if (str(ga.branch) !== str(gb.branch)) env.push(["git branch", str(ga.branch), str(gb.branch)]);
      if (Boolean(ga.dirty) !== Boolean(gb.dirty)) {
        env.push(["working tree", ga.dirty ? "uncommitted changes" : "clean", gb.dirty ? "uncommitted changes" : "clean"]);
      }
      if (str(a.system.python) !== str(b.system.python)) env.push(["Python", str(a.system.python), str(b.system.python)]);
      if (str(a.system.os) !== str(b.system.os)) env.push(["OS", str(a.system.os), str(b.system.os)]);
      pair("Code and environment", env);

      const pa = packagesOf(a.system.packages);
      const pb = packagesOf(b.system.packages);
      const pkgRows = [];
      for (const name of Array.from(new Set([...pa.keys(), ...pb.keys()])).sort()) {
        const x = pa.get(name);
        const y = pb.get(name);
        if (x && y && x.version === y.version) continue;
        pkgRows.push([x ? x.name : y.name, x ? x.version : "not installed", y ? y.version : "not installed"]);
      }
      if (pkgRows.length) {
        const added = pkgRows.filter((r) => r[1] === "not installed").length;
        const removed = pkgRows.filter((r) => r[2] === "not installed").length;
        const changed = pkgRows.length - added - removed;
        parts.push(el("p", {
          className: "xs-compare-summary",
          text: `Packages: ${changed} changed, ${added} only in the second run, ${removed} only in the first.`,
        }));
        pair("Package", pkgRows);
      }
      if (!parts.length) {
        parts.push(el("p", {
          className: "xs-compare-same",
          text: "Nothing differs: same params, packages, Python, OS and commit.",
        }));
      }
      body.replaceChildren(...parts);
    }

    /* 3. metrics table */

    renderMetrics(runs, keys) {
      const { body } = this.slots["compare-metrics"];
      if (!runs.length || !keys.length) {
        body.replaceChildren(el("p", { className: "xs-empty", text: "No metrics logged." }));
        return;
      }
      const select = el("select", { id: "xs-compare-stat" }, [
        el("option", { value: "last", text: "last value" }),
        el("option", { value: "min", text: "minimum" }),
        el("option", { value: "max", text: "maximum" }),
      ]);
      const controls = el("div", { className: "xs-compare-controls" }, [
        el("label", { for: "xs-compare-stat", text: "Show" }),
        select,
        el("span", { className: "xs-muted", text: "★ best run per metric (↑ higher is better, ↓ lower is better)" }),
      ]);
      const tbody = el("tbody");
      const fill = () => {
        const stat = select.value;
        tbody.replaceChildren(...keys.map((key) => {
          const dir = this.direction(key);
          const values = runs.map((r) => {
            const m = hasOwn(r.metrics, key) ? r.metrics[key] : null;
            return m && typeof m === "object" ? toNumber(m[stat]) : null;
          });
          const finite = values.filter((v) => v !== null && Number.isFinite(v));
          let best = null;
          for (const v of finite) if (best === null || (dir === "min" ? v < best : v > best)) best = v;
          const head = el("th", { scope: "row" }, [
            bdi(key),
            el("span", {
              className: "xs-compare-dir",
              title: dir === "min" ? "lower is better" : "higher is better",
              text: dir === "min" ? " ↓" : " ↑",
            }),
          ]);
          if (key === this.headline) head.append(" ", el("span", { className: "xs-badge", text: "headline" }));
          const cells = runs.map((r, i) => {
            const v = values[i];
            const m = hasOwn(r.metrics, key) ? r.metrics[key] : null;
            const td = el("td", { className: "xs-num" });
            if (v === null) {
              td.textContent = MISSING;
              td.classList.add("xs-compare-missing");
              return td;
            }
            td.textContent = formatNumber(v);
            if (m) {
              const part = (name) => `${name} ${formatNumber(toNumber(m[name]))}` +
                (m[`${name}_step`] !== undefined && m[`${name}_step`] !== null ? ` (step ${m[`${name}_step`]})` : "");
              td.title = `${String(m[stat])}\n${["last", "min", "max"].map(part).join(" · ")}`;
            }
            if (best !== null && v === best && runs.length > 1) {
              td.classList.add("xs-best");
              td.prepend(el("span", { className: "xs-best-mark", "aria-hidden": "true", text: "★ " }));
              td.append(el("span", { className: "xs-visually-hidden", text: " (best)" }));
            }
            return td;
          });
          return el("tr", { "data-key": key }, [head, ...cells]);
        }));
      };
      select.addEventListener("change", fill);
      fill();
      const table = el("table", { className: "xs-table xs-compare-table xs-compare-metrics" }, [this.runHeader(runs, "Metric"), tbody]);
      body.replaceChildren(controls, el("div", { className: "xs-table-wrap" }, [table]));
    }

    /* 4. metric charts */

    renderCharts(runs, keys) {
      const { body } = this.slots["compare-charts"];
      const api = window.xsite && window.xsite.charts;
      if (!runs.length || !keys.length) {
        body.replaceChildren(el("p", { className: "xs-empty", text: "No metrics to chart." }));
        return;
      }
      if (!api || typeof api.mount !== "function") {
        body.replaceChildren(el("p", { className: "xs-chart-error", role: "alert", text: "The chart script (assets/charts.js) did not load." }));
        return;
      }
      const sources = runs.map((r) => ({ run: r.id, label: r.name, src: `${this.runUrl(r.id)}metrics.json` }));
      const section = el("section", {
        className: "xs-charts",
        "data-spec": this.root + CHART_SPEC,
        "data-sources": JSON.stringify(sources),
        "aria-label": "Metric charts",
      }, [el("div", { className: "xs-chart-controls" })]);
      for (const key of keys) {
        section.append(el("figure", { className: "xs-chart", "data-key": key }, [
          el("figcaption", { text: key }),
          el("div", { className: "xs-chart-plot" }),
        ]));
      }
      body.replaceChildren(section);
      api.mount(section, { colors: runs.map((r) => r.color) });
    }

    /* 2. params table */

    renderParams(runs) {
      const { body } = this.slots["compare-params"];
      const keys = Array.from(new Set(runs.flatMap((r) => Object.keys(r.params)))).sort();
      if (!runs.length || !keys.length) {
        body.replaceChildren(el("p", { className: "xs-empty", text: "No params." }));
        return;
      }
      const differs = [];
      const same = [];
      for (const key of keys) {
        const values = runs.map((r) => (hasOwn(r.params, key) ? r.params[key] : undefined));
        const distinct = new Set(values.map(canon));
        const row = el("tr", { "data-key": key }, [
          el("th", { scope: "row" }, [bdi(key)]),
          ...values.map((v) => el("td", { className: v === undefined ? "xs-compare-missing" : null }, [
            v === undefined ? MISSING : el("span", { className: "xs-value", text: paramText(v) }),
          ])),
        ]);
        if (distinct.size > 1) {
          row.classList.add("xs-differs");
          row.firstChild.append(el("span", { className: "xs-visually-hidden", text: " (differs)" }));
          differs.push(row);
        } else {
          same.push(row);
        }
      }
      const parts = [];
      const collapse = runs.length > 1 && same.length > 0;
      const sameBody = el("tbody", { className: "xs-compare-same-rows", hidden: collapse && differs.length > 0 });
      sameBody.append(...same);
      const table = el("table", { className: "xs-table xs-compare-table xs-compare-params" }, [
        this.runHeader(runs, "Param"),
        el("tbody", {}, differs),
        sameBody,
      ]);
      if (runs.length > 1) {
        parts.push(el("p", {
          className: "xs-compare-summary",
          text: differs.length
            ? `${plural(differs.length, "param")} ${differs.length === 1 ? "differs" : "differ"} (highlighted).`
            : `All ${plural(keys.length, "param")} are the same in every run.`,
        }));
      }
      if (collapse && differs.length) {
        const toggle = el("button", {
          type: "button",
          className: "xs-button xs-compare-toggle",
          "aria-expanded": "false",
          text: `Show ${plural(same.length, "identical param")}`,
        });
        toggle.addEventListener("click", () => {
          const open = sameBody.hidden;
          sameBody.hidden = !open;
          toggle.setAttribute("aria-expanded", String(open));
          toggle.textContent = `${open ? "Hide" : "Show"} ${plural(same.length, "identical param")}`;
        });
        parts.push(toggle);
      }
      parts.push(el("div", { className: "xs-table-wrap" }, [table]));
      body.replaceChildren(...parts);
    }

    /* Vega-Lite charts of this page (parallel coordinates and scatter) */

    theme() {
      const cs = getComputedStyle(document.documentElement);
      const v = (name, fallback) => cs.getPropertyValue(name).trim() || fallback;
      const fg = v("--xs-fg", "#1f2328");
      const bg = v("--xs-bg", "#ffffff");
      return {
        fg,
        muted: v("--xs-muted", fg),
        border: v("--xs-border", "#d1d9e0"),
        bg,
        font: getComputedStyle(document.body).fontFamily,
        dark: Boolean(window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches),
      };
    }

    vegaConfig(theme) {
      return {
        background: "transparent",
        font: theme.font,
        view: { stroke: null },
        axis: {
          labelColor: theme.muted,
          titleColor: theme.fg,
          gridColor: theme.border,
          gridOpacity: 0.5,
          domainColor: theme.border,
          tickColor: theme.border,
          titleFontWeight: "normal",
        },
        text: { color: theme.fg },
        line: { aria: false },
      };
    }

    // Draw `makeSpec(theme)` into `holder` now and again when the colour scheme changes.
    // The newest drawing of a holder wins; the view it replaces is freed.
    draw(holder, makeSpec) {
      const generation = this.generation;
      const render = async () => {
        if (typeof window.vegaEmbed !== "function") {
          holder.replaceChildren(el("p", { className: "xs-chart-error", role: "alert", text: "The chart library (assets/vega.js) did not load." }));
          return;
        }
        const seq = (drawSeq.get(holder) || 0) + 1;
        drawSeq.set(holder, seq);
        const theme = this.theme();
        const target = el("div", { className: "xs-compare-vega xs-compare-vega-pending" });
        holder.append(target);
        const stale = () => generation !== this.generation || drawSeq.get(holder) !== seq;
        try {
          const result = await window.vegaEmbed(target, makeSpec(theme), {
            renderer: "svg",
            actions: false,
            tooltip: { theme: theme.dark ? "dark" : "light" },
          });
          if (stale()) {
            result.finalize();
            target.remove();
            return;
          }
          this.clear(holder, target);
          target.classList.remove("xs-compare-vega-pending");
          holderViews.set(holder, result);
          this.vegaViews.push(result);
          holder.setAttribute("data-rendered", "true");
        } catch (err) {
          target.remove();
          if (stale()) return;
          this.clear(holder);
          holder.append(el("p", { className: "xs-chart-error", role: "alert", text: `Could not draw this chart (${reasonOf(err)}).` }));
        }
      };
      render.holder = holder;
      this.redrawers = this.redrawers.filter((r) => r.holder !== holder);
      this.redrawers.push(render);
      return render();
    }

    // Empty `holder` (but for `keep`), freeing the Vega view it showed.
    clear(holder, keep) {
      const prev = holderViews.get(holder);
      if (prev) {
        prev.finalize();
        holderViews.delete(holder);
        this.vegaViews = this.vegaViews.filter((v) => v !== prev);
      }
      holder.removeAttribute("data-rendered");
      for (const child of Array.from(holder.childNodes)) if (child !== keep) child.remove();
    }

    colorScale(runs) {
      return { domain: runs.map((r) => r.label), range: runs.map((r) => r.color) };
    }

    // Unique labels for Vega (names need not be unique), like charts.js makes them.
    labelled(runs) {
      const counts = new Map();
      for (const r of runs) counts.set(r.name, (counts.get(r.name) || 0) + 1);
      const seen = new Set();
      return runs.map((r) => {
        let label = counts.get(r.name) > 1 ? `${r.name} (${r.id.slice(0, 6)})` : r.name;
        for (let k = 2; seen.has(label); k++) label = `${r.name} #${k}`;
        seen.add(label);
        return { ...r, label };
      });
    }

    /* 5. parallel coordinates */

    parallelAxes(runs, keys) {
      const axes = [];
      const paramKeys = Array.from(new Set(runs.flatMap((r) => Object.keys(r.params)))).sort();
      for (const key of paramKeys) {
        const values = runs.map((r) => (hasOwn(r.params, key) ? r.params[key] : undefined));
        const present = values.filter((v) => v !== undefined && v !== null);
        if (new Set(values.map(canon)).size < 2 || !present.length) continue;
        if (present.every((v) => typeof v === "number" && Number.isFinite(v))) {
          axes.push(numericAxis(key, values.map((v) => (typeof v === "number" && Number.isFinite(v) ? v : null))));
        } else {
          const texts = values.map((v) => (v === undefined || v === null ? null : paramText(v)));
          const categories = Array.from(new Set(texts.filter((t) => t !== null))).sort();
          if (categories.length <= MAX_CATEGORIES) axes.push(categoryAxis(key, texts, categories));
        }
        if (axes.length >= MAX_PARALLEL_AXES) break;
      }
      const metric = this.headline && keys.includes(this.headline) ? this.headline : this.headline || keys[0];
      if (metric) {
        const values = runs.map((r) => {
          const m = hasOwn(r.metrics, metric) ? r.metrics[metric] : null;
          const v = m ? toNumber(m.last) : null;
          return v !== null && Number.isFinite(v) ? v : null;
        });
        if (values.some((v) => v !== null)) {
          const axis = numericAxis(metric, values);
          axis.label = `${metric} ${this.direction(metric) === "min" ? "↓" : "↑"}`;
          axes.push(axis);
        }
      }
      // Labels name the axes in Vega: keep them unique.
      const seen = new Set();
      for (const a of axes) {
        let label = a.label;
        for (let k = 2; seen.has(label); k++) label = `${a.label} #${k}`;
        seen.add(label);
        a.label = label;
      }
      return axes;
    }

    renderParallel(runs, keys) {
      const { body } = this.slots["compare-parallel"];
      if (runs.length < 2) {
        body.replaceChildren(el("p", { className: "xs-empty", text: "Needs at least two runs." }));
        return;
      }
      const axes = this.parallelAxes(runs, keys);
      if (axes.length < 2) {
        body.replaceChildren(el("p", {
          className: "xs-empty",
          text: "Not enough to draw: it needs at least two axes (params that vary, and the headline metric).",
        }));
        return;
      }
      const labelled = this.labelled(runs);
      const lines = [];
      const ticks = [];
      for (const [ai, axis] of axes.entries()) {
        labelled.forEach((r, i) => {
          const y = axis.norm[i];
          lines.push({ run: r.label, axis: axis.label, order: ai, y, value: y === null ? MISSING : axis.text[i] });
        });
        for (const t of axis.ticks) ticks.push({ axis: axis.label, y: t.y, text: shorten(t.text, 18) });
      }
      const note = el("p", {
        className: "xs-muted xs-compare-summary",
        text: "One line per run; each axis runs from its lowest value (bottom) to its highest (top). " +
          "Axes: params that vary across the runs, then the headline metric." +
          (axes.some((a) => a.log) ? " Axes marked (log) are on a log scale." : ""),
      });
      const holder = el("div", { className: "xs-compare-chart" });
      body.replaceChildren(note, holder);
      for (const p of lines) p.i = p.order;
      for (const t of ticks) t.i = axes.findIndex((a) => a.label === t.axis);
      const titles = axes.map((a, i) => ({ i, label: a.label, y: 1 }));
      // Axes at x = 0, 1, 2, …; their names and values are text marks (data, never code).
      const x = {
        field: "i",
        type: "quantitative",
        scale: { domain: [-0.25, axes.length - 1 + 0.4], nice: false, zero: false },
        axis: null,
      };
      const y = { field: "y", type: "quantitative", scale: { domain: [0, 1], nice: false }, axis: null };
      this.draw(holder, (theme) => ({
        width: "container",
        height: 320,
        autosize: { type: "fit-x", contains: "padding" },
        padding: { left: 8, right: 8, top: 30, bottom: 8 },
        layer: [
          {
            data: { values: titles },
            mark: { type: "rule", color: theme.border, strokeWidth: 1.5 },
            encoding: { x, y: { datum: 0, type: "quantitative", scale: y.scale, axis: null }, y2: { datum: 1 } },
          },
          {
            data: { values: lines },
            mark: { type: "line", strokeWidth: runs.length > 50 ? 1 : 2, opacity: runs.length > 50 ? 0.5 : 0.85, invalid: "break-paths-show-domains" },
            encoding: {
              x,
              y,
              detail: { field: "run", type: "nominal" },
              color: { field: "run", type: "nominal", scale: this.colorScale(labelled), legend: null },
              order: { field: "i", type: "quantitative" },
            },
          },
          {
            data: { values: lines.filter((p) => p.y !== null) },
            mark: { type: "point", filled: true, size: runs.length > 50 ? 12 : 36 },
            encoding: {
              x,
              y,
              color: { field: "run", type: "nominal", scale: this.colorScale(labelled), legend: null },
              tooltip: [
                { field: "run", type: "nominal", title: "run" },
                { field: "axis", type: "nominal", title: "axis" },
                { field: "value", type: "nominal", title: "value" },
              ],
            },
          },
          {
            data: { values: ticks },
            mark: { type: "text", align: "left", dx: 5, fontSize: 10, color: theme.muted, baseline: "middle" },
            encoding: { x, y, text: { field: "text", type: "nominal" } },
          },
          {
            data: { values: titles },
            mark: {
              type: "text",
              align: "center",
              baseline: "bottom",
              dy: -10,
              fontSize: 11,
              color: theme.fg,
              limit: Math.max(40, Math.floor(holder.clientWidth / (axes.length + 0.65)) - 8),
            },
            encoding: { x, y, text: { field: "label", type: "nominal" } },
          },
        ],
        config: this.vegaConfig(theme),
      }));
    }

    /* 6. scatter */

    renderScatter(runs, keys) {
      const { body } = this.slots["compare-scatter"];
      const paramKeys = Array.from(new Set(runs.flatMap((r) => Object.keys(r.params)))).sort();
      const metricKeys = Array.from(new Set([...keys, ...this.metricKeysOf(runs)]));
      if (!runs.length || (!paramKeys.length && !metricKeys.length)) {
        body.replaceChildren(el("p", { className: "xs-empty", text: "No params or metrics to plot." }));
        return;
      }
      const labelled = this.labelled(runs);
      const options = (select) => {
        if (paramKeys.length) {
          select.append(el("optgroup", { label: "Params" }, paramKeys.map((k) => el("option", { value: `p:${k}`, text: k }))));
        }
        if (metricKeys.length) {
          select.append(el("optgroup", { label: "Metrics (last value)" }, metricKeys.map((k) => el("option", { value: `m:${k}`, text: k }))));
        }
      };
      const xSel = el("select", { id: "xs-compare-x" });
      const ySel = el("select", { id: "xs-compare-y" });
      options(xSel);
      options(ySel);
      const xLog = el("input", { type: "checkbox", id: "xs-compare-xlog" });
      const yLog = el("input", { type: "checkbox", id: "xs-compare-ylog" });
      const varying = paramKeys.find((k) => {
        const vals = runs.map((r) => r.params[k]);
        return vals.every((v) => typeof v === "number") && new Set(vals).size > 1;
      });
      xSel.value = varying ? `p:${varying}` : paramKeys.length ? `p:${paramKeys[0]}` : `m:${metricKeys[0]}`;
      const yKey = this.headline && metricKeys.includes(this.headline) ? this.headline : metricKeys[0];
      ySel.value = yKey !== undefined ? `m:${yKey}` : `p:${paramKeys[0]}`;

      const valueOf = (choice, run) => {
        const key = choice.slice(2);
        if (choice.startsWith("p:")) return hasOwn(run.params, key) ? run.params[key] : undefined;
        const m = hasOwn(run.metrics, key) ? run.metrics[key] : null;
        const v = m ? toNumber(m.last) : null;
        return v !== null && Number.isFinite(v) ? v : undefined;
      };
      const note = el("p", { className: "xs-muted xs-compare-summary", role: "status" });
      const holder = el("div", { className: "xs-compare-chart" });
      const controls = el("div", { className: "xs-compare-controls" }, [
        el("span", { className: "xs-ctl" }, [el("label", { for: "xs-compare-x", text: "X" }), xSel]),
        el("span", { className: "xs-ctl xs-ctl-check" }, [xLog, el("label", { for: "xs-compare-xlog", text: "log x" })]),
        el("span", { className: "xs-ctl" }, [el("label", { for: "xs-compare-y", text: "Y" }), ySel]),
        el("span", { className: "xs-ctl xs-ctl-check" }, [yLog, el("label", { for: "xs-compare-ylog", text: "log y" })]),
      ]);
      body.replaceChildren(controls, note, holder);

      const update = (event) => {
        const xs = labelled.map((r) => valueOf(xSel.value, r));
        const ys = labelled.map((r) => valueOf(ySel.value, r));
        const numeric = (vals) => vals.every((v) => v === undefined || v === null || (typeof v === "number" && Number.isFinite(v)));
        const positive = (vals) => vals.every((v) => v === undefined || v === null || v > 0);
        const xq = numeric(xs);
        const yq = numeric(ys);
        xLog.disabled = !(xq && positive(xs));
        yLog.disabled = !(yq && positive(ys));
        // A newly chosen axis spanning three orders of magnitude (a learning rate) starts on
        // a log scale, as in the parallel coordinates; the box can turn it off.
        if (!event || event.target === xSel) xLog.checked = !xLog.disabled && spansDecades(xs);
        if (!event || event.target === ySel) yLog.checked = !yLog.disabled && spansDecades(ys);
        const points = [];
        labelled.forEach((r, i) => {
          if (xs[i] === undefined || ys[i] === undefined || xs[i] === null || ys[i] === null) return;
          points.push({
            run: r.label,
            x: xq ? xs[i] : paramText(xs[i]),
            y: yq ? ys[i] : paramText(ys[i]),
          });
        });
        const left = runs.length - points.length;
        note.textContent = left ? `${plural(left, "run")} without both values ${left === 1 ? "is" : "are"} not shown.` : "";
        if (!points.length) {
          drawSeq.set(holder, (drawSeq.get(holder) || 0) + 1); // a drawing under way is stale
          this.redrawers = this.redrawers.filter((r) => r.holder !== holder);
          this.clear(holder);
          holder.append(el("p", { className: "xs-empty", text: "No run has both values." }));
          return;
        }
        const xTitle = xSel.value.slice(2);
        const yTitle = ySel.value.slice(2);
        const enc = (field, q, log, title) => {
          const e = { field, type: q ? "quantitative" : "nominal", title };
          if (q) e.scale = log ? { type: "log", nice: false, padding: 12 } : { zero: false, padding: 12 };
          if (!q) e.sort = "ascending";
          return e;
        };
        const spec = (theme) => ({
          width: "container",
          height: 300,
          autosize: { type: "fit-x", contains: "padding" },
          data: { values: points },
          mark: { type: "point", filled: true, size: runs.length > 100 ? 30 : 80, opacity: 0.85 },
          encoding: {
            x: enc("x", xq, xLog.checked && !xLog.disabled, xTitle),
            y: enc("y", yq, yLog.checked && !yLog.disabled, yTitle),
            color: { field: "run", type: "nominal", scale: this.colorScale(labelled), legend: null },
            tooltip: [
              { field: "run", type: "nominal", title: "run" },
              { field: "x", type: xq ? "quantitative" : "nominal", title: xTitle },
              { field: "y", type: yq ? "quantitative" : "nominal", title: yTitle },
            ],
          },
          config: this.vegaConfig(theme),
        });
        this.draw(holder, spec);
      };
      for (const c of [xSel, ySel, xLog, yLog]) c.addEventListener("change", update);
      update();
    }

    /* 7. code and data */

    renderCode(runs) {
      const { body } = this.slots["compare-code"];
      if (!runs.length) {
        body.replaceChildren(el("p", { className: "xs-empty", text: "No runs loaded." }));
        return;
      }
      const parts = [el("h3", { text: "Code" })];
      const groups = new Map(); // commit (or "") -> runs
      for (const r of runs) {
        const commit = typeof r.git.commit === "string" ? r.git.commit : "";
        if (!groups.has(commit)) groups.set(commit, []);
        groups.get(commit).push(r);
      }
      const commits = Array.from(groups.keys()).filter(Boolean);
      const dirty = runs.filter((r) => r.git.dirty).length;
      const noGit = groups.has("") ? groups.get("").length : 0;
      let verdict;
      let same = false;
      if (commits.length === 0) {
        verdict = "No run recorded its git state.";
      } else if (commits.length === 1 && !noGit) {
        same = dirty === 0;
        verdict = same
          ? `Same code: every run ran commit ${shortCommit(commits[0])} with a clean working tree.`
          : `Same commit (${shortCommit(commits[0])}), but ${plural(dirty, "run")} had uncommitted changes: the code may differ.`;
      } else {
        verdict = `Different code: ${plural(commits.length, "commit")} across ${plural(runs.length, "run")}` +
          (noGit ? `, and ${plural(noGit, "run")} without git state.` : ".");
      }
      parts.push(el("p", { className: `xs-compare-verdict ${same ? "xs-compare-yes" : "xs-compare-no"}`, text: verdict }));

      const rows = [];
      let letter = 0;
      for (const [commit, members] of groups) {
        const label = commit ? `Code ${groupName(letter++)}: commit ${shortCommit(commit)}` : "No git state";
        rows.push(el("tr", { className: "xs-compare-group" }, [
          el("th", { scope: "colgroup", colspan: "5" }, [
            el("span", { text: label }),
            el("span", { className: "xs-muted", text: ` · ${plural(members.length, "run")}` }),
          ]),
        ]));
        for (const r of members) {
          const g = r.git;
          rows.push(el("tr", { "data-run-id": r.id }, [
            el("th", { scope: "row" }, [this.runLink(r)]),
            el("td", {}, [g.commit ? el("code", { title: String(g.commit), text: shortCommit(g.commit) }) : MISSING]),
            el("td", {}, [typeof g.branch === "string" && g.branch ? bdi(g.branch) : (g.commit ? "detached HEAD" : MISSING)]),
            el("td", {}, [g.commit || g.dirty ? (g.dirty ? el("span", { className: "xs-badge xs-badge-warn", text: "uncommitted changes" }) : "clean") : MISSING]),
            el("td", {}, [typeof g.remote === "string" && g.remote ? el("code", { text: g.remote }) : MISSING]),
          ]));
        }
      }
      if (commits.length) {
        parts.push(el("div", { className: "xs-table-wrap" }, [el("table", { className: "xs-table xs-compare-code" }, [
          el("thead", {}, [el("tr", {}, ["Run", "Commit", "Branch", "Working tree", "Remote"].map((h) => el("th", { scope: "col", text: h })))]),
          el("tbody", {}, rows),
        ])]));
      }

      if (runs.some((r) => r.datasets)) parts.push(...this.datasets(runs));
      body.replaceChildren(...parts);
    }

    datasets(runs) {
      const keyOf = (d) => `${d.name}\u0000${d.split}`;
      const rows = new Map(); // name+split -> {name, split}
      const byRun = runs.map((r) => {
        const m = new Map();
        for (const d of r.datasets || []) {
          if (!d || typeof d !== "object") continue;
          const item = {
            name: typeof d.name === "string" ? d.name : paramText(d.name),
            split: d.split === undefined || d.split === null ? "" : String(d.split),
            fingerprint: d.fingerprint === undefined || d.fingerprint === null ? "" : String(d.fingerprint),
          };
          if (!rows.has(keyOf(item))) rows.set(keyOf(item), item);
          m.set(keyOf(item), item);
        }
        return m;
      });
      const sorted = Array.from(rows.entries()).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      let allSame = true;
      const tbody = el("tbody", {}, sorted.map(([key, d]) => {
        const prints = byRun.map((m) => (m.has(key) ? m.get(key).fingerprint : null));
        const same = prints.every((p) => p !== null && p !== "" && p === prints[0]);
        if (!same) allSame = false;
        return el("tr", { className: same ? null : "xs-differs" }, [
          el("th", { scope: "row" }, [bdi(d.name), d.split ? el("span", { className: "xs-muted", text: ` (${d.split})` }) : null]),
          el("td", { className: same ? "xs-compare-yes" : "xs-compare-no", text: same ? "same" : "differs" }),
          ...prints.map((p) => el("td", {}, [p === null ? MISSING : p ? el("code", { title: p, text: p.slice(0, 12) }) : "no fingerprint"])),
        ]);
      }));
      const head = el("thead", {}, [el("tr", {}, [
        el("th", { scope: "col", text: "Dataset" }),
        el("th", { scope: "col", text: "Same data?" }),
        ...runs.map((r) => el("th", { scope: "col", className: "xs-compare-run-col" }, [this.runLink(r)])),
      ])]);
      return [
        el("h3", { text: "Data" }),
        el("p", {
          className: `xs-compare-verdict ${allSame ? "xs-compare-yes" : "xs-compare-no"}`,
          text: allSame ? "Same data: every dataset has the same fingerprint in every run." : "Different data: some datasets differ or are missing (highlighted).",
        }),
        el("div", { className: "xs-table-wrap" }, [el("table", { className: "xs-table xs-compare-table xs-compare-data" }, [head, tbody])]),
      ];
    }
    /* 9. logged charts and images */

    // Only when a run logged some: a section after the metric charts.
    renderRecords(runs) {
      const shown = runs.slice(0, RECORDS_MAX);
      const charts = new Map(); // name -> Map(run id -> artifact path)
      const images = new Map(); // name -> Map(run id -> {path, step})
      for (const run of shown) {
        for (const a of run.artifacts) {
          const m = a && typeof a.name === "string" && typeof a.path === "string" ? RECORD.exec(a.name) : null;
          if (!m || a.path.startsWith("artifacts-as-text/")) continue;
          const [, kind, name, stepText] = m;
          const step = stepText === undefined ? -1 : Number(stepText);
          if (kind === "charts") {
            if (!charts.has(name)) charts.set(name, new Map());
            charts.get(name).set(run.id, a.path);
          } else if (kind === "images") {
            if (!images.has(name)) images.set(name, new Map());
            const last = images.get(name).get(run.id);
            if (!last || step > last.step) images.get(name).set(run.id, { path: a.path, step });
          }
        }
      }
      if (!charts.size && !images.size) return;
      const mark = this.slots["compare-charts"];
      this.slot("compare-records", "Logged charts and images");
      const { section, body, link } = this.slots["compare-records"];
      mark.section.after(section);
      mark.link.after(link);
      const parts = [];
      if (runs.length > shown.length) {
        parts.push(el("p", { className: "xs-muted", text: `The charts and images of the first ${count(shown.length)} of ${plural(runs.length, "run")}.` }));
      }
      const labels = new Map(this.labelled(shown).map((r) => [r.id, r.label]));
      for (const name of Array.from(charts.keys()).sort()) parts.push(this.loggedChart(name, shown, charts.get(name), labels));
      for (const name of Array.from(images.keys()).sort()) parts.push(this.loggedImages(name, shown, images.get(name)));
      body.replaceChildren(...parts);
    }

    // One logged chart name: each run's spec, then one overlay when every spec is a line or
    // point chart of the same fields with its data inline, else the charts side by side.
    loggedChart(name, runs, paths, labels) {
      const box = el("div", { className: "xs-compare-record", "data-record": name }, [
        el("h3", {}, [bdi(name)]),
        el("p", { className: "xs-chart-status", text: "Loading…" }),
      ]);
      const generation = this.generation;
      const having = runs.filter((r) => paths.has(r.id));
      const missing = runs.filter((r) => !paths.has(r.id));
      Promise.all(having.map((r) => fetch(this.artifactUrl(r.id, paths.get(r.id))).then((res) => {
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return res.json();
      }).then((spec) => ({ run: r, spec }), (err) => ({ run: r, error: reasonOf(err) })))).then((specs) => {
        if (generation !== this.generation) return; // another selection is shown by now
        const drawn = specs.filter((s) => s.spec);
        const children = [el("h3", {}, [bdi(name)])];
        const failed = specs.filter((s) => s.error).map((s) => `${s.run.name}: ${s.error}`);
        if (failed.length) children.push(el("p", { className: "xs-chart-error", role: "alert", text: `Could not read ${failed.join("; ")}.` }));
        if (missing.length) {
          children.push(el("p", { className: "xs-muted" }, [
            `Not logged by ${missing.length === 1 ? "" : `${count(missing.length)} runs: `}`,
            ...missing.flatMap((r, i) => [i ? ", " : "", bdi(r.name)]),
            ".",
          ]));
        }
        const fields = drawn.map((s) => overlayFields(s.spec));
        const overlay = drawn.length > 1 && fields.every((f) => f !== null && f === fields[0]);
        if (overlay) {
          const holder = el("div", { className: "xs-compare-chart xs-compare-overlay", "data-overlay": "true" });
          children.push(holder);
          box.replaceChildren(...children);
          this.draw(holder, (theme) => this.overlaySpec(drawn, labels, theme));
          return;
        }
        const grid = el("div", { className: "xs-compare-grid" });
        children.push(grid);
        box.replaceChildren(...children);
        for (const { run, spec } of drawn) {
          const holder = el("div", { className: "xs-compare-chart" });
          grid.append(el("figure", { className: "xs-compare-cell", "data-run-id": run.id }, [
            el("figcaption", {}, [this.runLink(run)]),
            holder,
          ]));
          this.draw(holder, (theme) => {
            const own = Object.assign({}, spec);
            delete own.$schema; // drawn by the site's Vega-Lite, whatever version it names
            own.config = Object.assign(this.vegaConfig(theme), own.config);
            return own;
          });
        }
      });
      return box;
    }

    overlaySpec(drawn, labels, theme) {
      const spec = Object.assign({}, drawn[0].spec);
      delete spec.$schema;
      delete spec.title;
      const values = [];
      for (const { run, spec: own } of drawn) {
        for (const point of own.data.values) values.push(Object.assign({}, point, { [RUN_FIELD]: labels.get(run.id) }));
      }
      spec.data = { values };
      spec.encoding = Object.assign({}, spec.encoding, {
        color: {
          field: RUN_FIELD,
          type: "nominal",
          title: "run",
          scale: { domain: drawn.map((d) => labels.get(d.run.id)), range: drawn.map((d) => d.run.color) },
          legend: { orient: "bottom", columns: 2, labelLimit: 280 },
        },
      });
      if (spec.width === undefined) spec.width = 360;
      if (spec.height === undefined) spec.height = 300;
      spec.config = Object.assign(this.vegaConfig(theme), spec.config);
      return spec;
    }

    // One logged image name: each run's image at its last step, side by side.
    loggedImages(name, runs, found) {
      return el("div", { className: "xs-compare-record", "data-record": name }, [
        el("h3", {}, [bdi(name)]),
        el("div", { className: "xs-compare-grid" }, runs.map((run) => {
          const image = found.get(run.id);
          return el("figure", { className: "xs-compare-cell", "data-run-id": run.id }, [
            el("figcaption", {}, [this.runLink(run), image && image.step >= 0 ? el("span", { className: "xs-muted", text: ` · step ${image.step}` }) : null]),
            image
              ? el("img", { src: this.artifactUrl(run.id, image.path), alt: `${name} of ${run.name}`, loading: "lazy" })
              : el("p", { className: "xs-empty", text: "Not logged." }),
          ]);
        })),
      ]);
    }
  }

  /* ------------------------------------------------------- logged charts */

  // "x-field␀y-field" of a chart that overlays run by run: one line or point mark, x and y
  // from fields, no colour of its own, data inline. Anything else: null.
  function overlayFields(spec) {
    if (!spec || typeof spec !== "object" || spec.layer || spec.hconcat || spec.vconcat || spec.concat || spec.facet || spec.repeat) return null;
    const mark = typeof spec.mark === "string" ? spec.mark : spec.mark && spec.mark.type;
    const enc = spec.encoding;
    if (!["line", "point"].includes(mark) || !enc || !spec.data || !Array.isArray(spec.data.values)) return null;
    if (!enc.x || !enc.y || typeof enc.x.field !== "string" || typeof enc.y.field !== "string") return null;
    if (enc.color || enc.detail || enc.shape || enc.strokeDash || enc.row || enc.column || enc.facet) return null;
    return `${enc.x.field}\u0000${enc.y.field}`;
  }

  /* ------------------------------------------------------- parallel axes */

  function numericAxis(key, values) {
    const present = values.filter((v) => v !== null);
    const lo = Math.min(...present);
    const hi = Math.max(...present);
    const log = spansDecades(present);
    const f = log ? Math.log10 : (v) => v;
    const a = f(lo);
    const b = f(hi);
    const norm = values.map((v) => (v === null ? null : b > a ? (f(v) - a) / (b - a) : 0.5));
    const ticks = b > a
      ? [{ y: 0, text: formatNumber(lo) }, { y: 1, text: formatNumber(hi) }]
      : [{ y: 0.5, text: formatNumber(lo) }];
    return {
      label: log ? `${key} (log)` : key,
      norm,
      text: values.map((v) => (v === null ? MISSING : String(v))),
      ticks,
      log,
    };
  }

  // Positive numbers spanning three orders of magnitude or more: drawn on a log scale.
  function spansDecades(values) {
    const nums = values.filter((v) => typeof v === "number" && Number.isFinite(v));
    if (nums.length < 2 || nums.some((v) => !(v > 0))) return false;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of nums) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return hi / lo >= 1000;
  }

  function categoryAxis(key, texts, categories) {
    const pos = new Map(categories.map((c, i) => [c, categories.length > 1 ? i / (categories.length - 1) : 0.5]));
    return {
      label: key,
      norm: texts.map((t) => (t === null ? null : pos.get(t))),
      text: texts.map((t) => (t === null ? MISSING : t)),
      ticks: categories.map((c) => ({ y: pos.get(c), text: c })),
      log: false,
    };
  }

  /* --------------------------------------------------------------- packages */

  // "name==version" strings by normalized name (PEP 503); other forms keep the whole text.
  function packagesOf(list) {
    const out = new Map();
    if (!Array.isArray(list)) return out;
    for (const item of list) {
      if (typeof item !== "string") continue;
      const at = item.indexOf("==");
      const name = at < 0 ? item.trim() : item.slice(0, at).trim();
      const version = at < 0 ? "installed" : item.slice(at + 2).trim();
      out.set(name.toLowerCase().replace(/[-_.]+/g, "-"), { name, version });
    }
    return out;
  }

  function groupName(i) {
    let s = "";
    i += 1;
    while (i > 0) {
      const r = (i - 1) % 26;
      s = String.fromCharCode(65 + r) + s;
      i = Math.floor((i - 1) / 26);
    }
    return s;
  }

  /* ---------------------------------------------------------------- copying */

  async function copyText(text, status) {
    const say = (msg) => {
      status.textContent = msg;
      clearTimeout(say.timer);
      say.timer = setTimeout(() => { status.textContent = ""; }, 4000);
    };
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error("no clipboard");
      await navigator.clipboard.writeText(text);
      say("Link copied.");
      return;
    } catch (e) {
      /* fall back to a selected text field */
    }
    const field = el("textarea", { readonly: true, "aria-label": "Link to this comparison", className: "xs-compare-copy-field" });
    field.value = text;
    document.body.append(field);
    field.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    field.remove();
    if (ok) say("Link copied.");
    else window.prompt("Copy this link:", text);
  }

  /* ------------------------------------------------------------------ start */

  function start() {
    for (const box of document.querySelectorAll("div.xs-compare")) new ComparePage(box);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
