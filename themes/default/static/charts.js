/* xsite metric charts.
 *
 * Fills every <section class="xs-charts"> on the page: one Vega-Lite chart per
 * <figure class="xs-chart" data-key="...">, overlaying the runs listed in the
 * section's data-sources, with smoothing / x-axis / log-scale controls.
 *
 * Needs window.vegaEmbed (assets/vega.js, loaded before this deferred script).
 * Plain ES2020, no framework, no innerHTML: labels and keys are untrusted text.
 *
 * Public API, for sections a script adds after the page loaded (comparison pages):
 *   window.xsite.charts.mount(section, {colors})
 * fills one <section class="xs-charts"> (once; mounting it again returns the same chart
 * section) and follows theme changes like the page's own sections. `colors`, optional,
 * gives one CSS colour per data-sources entry, so other views can match the lines.
 */
(function () {
  "use strict";

  const STORAGE_KEY = "xsite:charts";
  const DATASET = "points";
  const ROOT_MARGIN = "200px 0px";
  // Vega's default legend limit; above it a legend is truncated (with a warning) and
  // colours repeat anyway, so larger overlays rely on the tooltip instead.
  const MAX_LEGEND_RUNS = 30;
  const LEGEND_LABEL_PX = 150;
  const SLIDER_DEBOUNCE_MS = 50;
  const X_AXES = [
    ["step", "Step", "step"],
    ["relative", "Relative time", "relative time (s)"],
    ["wall", "Wall time", "wall time"],
  ];
  const X_TITLES = Object.fromEntries(X_AXES.map((a) => [a[0], a[2]]));
  const DEFAULTS = Object.freeze({ smoothing: 0.6, xaxis: "step", log: false });
  const hasOwn = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);

  /* ------------------------------------------------------------ settings */

  function clampSmoothing(w) {
    w = Number(w);
    if (!Number.isFinite(w)) return DEFAULTS.smoothing;
    return Math.min(0.99, Math.max(0, Math.round(w * 100) / 100));
  }

  // The valid settings of a JSON text (stored, or a chart's data-settings); none if broken.
  function parseSettings(text) {
    const s = {};
    try {
      const o = JSON.parse(text || "null");
      if (o && typeof o === "object") {
        if (o.smoothing !== undefined) s.smoothing = clampSmoothing(o.smoothing);
        if (hasOwn(X_TITLES, o.xaxis)) s.xaxis = o.xaxis;
        if (typeof o.log === "boolean") s.log = o.log;
      }
    } catch (e) {
      /* corrupt: none */
    }
    return s;
  }

  function loadSettings() {
    let stored = null;
    try {
      stored = window.localStorage.getItem(STORAGE_KEY);
    } catch (e) {
      /* storage disabled: defaults */
    }
    return { ...DEFAULTS, ...parseSettings(stored) };
  }

  // A chart embedded in a note may set its own starting smoothing, x axis or scale
  // (data-settings='{"smoothing": 0.8}'): the author's choice for that chart wins.
  function authorSettings(section) {
    return parseSettings(section.getAttribute("data-settings"));
  }

  function saveSettings(s) {
    try {
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify(s));
    } catch (e) {
      /* storage disabled or full: settings just do not persist */
    }
  }

  /* ------------------------------------------------------------ fetching */

  const fetchCache = new Map(); // resolved URL -> Promise<parsed JSON>

  function fetchJSON(url) {
    let p = fetchCache.get(url);
    if (!p) {
      p = fetch(url, { credentials: "same-origin" }).then((res) => {
        if (!res.ok) throw new Error(`HTTP ${res.status} for ${shortUrl(url)}`);
        return res.json();
      });
      fetchCache.set(url, p);
    }
    return p;
  }

  function shortUrl(url) {
    try {
      const u = new URL(url);
      const parts = u.pathname.split("/").filter(Boolean);
      return parts.slice(-2).join("/") || url;
    } catch (e) {
      return url;
    }
  }

  function reasonOf(err) {
    const msg = err && err.message ? String(err.message) : String(err);
    return msg.length > 160 ? msg.slice(0, 157) + "…" : msg;
  }

  /* -------------------------------------------------------------- series */

  // One loaded run: the parsed metrics.json plus per-key prepared arrays.
  class Source {
    constructor(label, doc) {
      this.label = label;
      this.doc = doc;
      // ISO 8601 from Python has microseconds; keep milliseconds for every browser's parser.
      const iso = doc && typeof doc.started_at === "string" ? doc.started_at.replace(/(\.\d{3})\d+/, "$1") : "";
      this.startMs = iso ? Date.parse(iso) : NaN;
      this.series = doc && doc.series && typeof doc.series === "object" ? doc.series : {};
      this.cache = new Map();
    }

    // Finite points of one metric as typed arrays, computed once per key.
    get(key) {
      if (this.cache.has(key)) return this.cache.get(key);
      let out = null;
      const s = hasOwn(this.series, key) ? this.series[key] : null;
      if (s && Array.isArray(s.value)) {
        const vals = s.value;
        const steps = Array.isArray(s.step) ? s.step : null;
        const times = Array.isArray(s.time) ? s.time : null;
        const n = vals.length;
        const step = new Float64Array(n);
        const value = new Float64Array(n);
        const time = new Float64Array(n);
        let m = 0;
        let nonFinite = 0;
        for (let i = 0; i < n; i++) {
          const v = vals[i];
          if (typeof v !== "number" || !Number.isFinite(v)) {
            nonFinite++; // "NaN", "Infinity", "-Infinity" (or null)
            continue;
          }
          const st = steps ? steps[i] : i;
          if (typeof st !== "number" || !Number.isFinite(st)) continue;
          const t = times ? times[i] : NaN;
          step[m] = st;
          value[m] = v;
          time[m] = typeof t === "number" ? t : NaN;
          m++;
        }
        out = {
          n: m,
          step: step.subarray(0, m),
          value: value.subarray(0, m),
          time: time.subarray(0, m),
          nonFinite,
        };
      }
      this.cache.set(key, out);
      return out;
    }
  }

  // Points for one chart under the given settings, plus counts for the notes.
  // The set and order of points depend only on the key and the x axis, so when
  // only the smoothing changes, `smoothedOnly` returns just the new smoothed
  // values (same order) for updating the drawn points in place.
  function buildRows(sources, key, settings, smoothedOnly) {
    const w = settings.smoothing;
    const mode = settings.xaxis;
    const log = settings.log;
    const rows = [];
    let present = 0;
    let nonFinite = 0;
    let nonPositive = 0;
    let noTime = 0;
    let drawable = 0;
    for (let si = 0; si < sources.length; si++) {
      const src = sources[si];
      const s = src.get(key);
      if (!s) continue;
      present++;
      nonFinite += s.nonFinite;
      const label = src.label;
      const { n, step, value, time } = s;
      const startMs = src.startMs;
      // TensorBoard's debiased EMA: last = last*w + (1-w)*y; smoothed = last / (1 - w^k).
      let last = 0;
      let wPow = 1;
      for (let i = 0; i < n; i++) {
        const y = value[i];
        last = last * w + (1 - w) * y;
        wPow *= w;
        let sm = w === 0 ? y : last / (1 - wPow);
        let x;
        if (mode === "step") x = step[i];
        else if (mode === "relative") x = time[i];
        else x = startMs + time[i] * 1000;
        if (!Number.isFinite(x)) {
          noTime++;
          continue;
        }
        let rv = y;
        if (log) {
          // Not representable on a log scale: a gap in that line (null), no warning.
          if (!(rv > 0)) {
            rv = null;
            nonPositive++;
          }
          if (!(sm > 0)) sm = null;
          if (rv !== null || sm !== null) drawable++;
        } else {
          drawable++;
        }
        rows.push(
          smoothedOnly ? sm : { run: label, step: step[i], x, value: rv, smoothed: sm, single: n === 1 }
        );
      }
    }
    return { rows, present, nonFinite, nonPositive, noTime, drawable };
  }

  /* -------------------------------------------------------------- theming */

  // Resolve the theme's CSS variables to concrete rgb() strings (SVG attributes
  // cannot use var() or newer colour functions), via a hidden probe element.
  function readTheme(section) {
    const probe = document.createElement("span");
    probe.setAttribute("aria-hidden", "true");
    probe.style.cssText = "position:absolute;width:0;height:0;overflow:hidden;visibility:hidden";
    section.appendChild(probe);
    const read = (expr) => {
      probe.style.color = "";
      probe.style.color = expr;
      return getComputedStyle(probe).color;
    };
    const fg = read("var(--xs-fg, currentColor)");
    const muted = read("var(--xs-muted, " + fg + ")");
    const border = read("var(--xs-border, rgba(128, 128, 128, 0.35))");
    const bg = read("var(--xs-bg, Canvas)");
    const accent = read("var(--xs-accent, #4c78a8)");
    const font = getComputedStyle(section).fontFamily;
    probe.remove();
    const dark = luminance(fg) > luminance(bg);
    const grid = mix(border, bg, 0.6);
    return {
      fg, muted, border, grid, accent, font, dark,
      key: [fg, muted, border, grid, accent, font].join("|"),
    };
  }

  function rgb(color) {
    const m = /rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?/.exec(color || "");
    if (!m) return null;
    let a = m[4] === undefined ? 1 : parseFloat(m[4]);
    if (m[4] && m[4].endsWith("%")) a /= 100;
    return [+m[1], +m[2], +m[3], a];
  }

  function luminance(color) {
    const c = rgb(color);
    return c ? 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2] : 0;
  }

  // Gridlines a little lighter than borders: `weight` of colour a over opaque b.
  function mix(a, b, weight) {
    const x = rgb(a);
    const y = rgb(b);
    if (!x || !y || y[3] < 1) return a;
    const w = weight * x[3];
    const ch = (i) => Math.round(x[i] * w + y[i] * (1 - w));
    return `rgb(${ch(0)}, ${ch(1)}, ${ch(2)})`;
  }

  function themedConfig(base, theme, singleRun, width) {
    const cfg = base && typeof base === "object" ? base : {};
    const merge = (name, extra) => ({ ...(cfg[name] || {}), ...extra });
    const out = { ...cfg, background: "transparent" };
    if (theme.font) out.font = theme.font;
    out.axis = merge("axis", {
      labelColor: theme.muted,
      titleColor: theme.fg,
      gridColor: theme.grid,
      domainColor: theme.border,
      tickColor: theme.border,
      titleFontWeight: "normal",
    });
    // The legend symbol comes from the faint raw layer; draw it solid.
    // A bottom legend does not wrap by itself: give it as many columns as fit.
    out.legend = merge("legend", {
      labelColor: theme.fg,
      titleColor: theme.fg,
      symbolOpacity: 1,
      symbolStrokeWidth: 2,
      labelLimit: LEGEND_LABEL_PX,
      columns: Math.max(1, Math.floor((width || 0) / (LEGEND_LABEL_PX + 40))),
    });
    if (singleRun) out.range = { ...(cfg.range || {}), category: [theme.accent] };
    out.title = merge("title", { color: theme.fg });
    // A line is drawn as one <path>, so per-point ARIA descriptions are never read,
    // yet Vega-Lite would format them for every point (about 40% of render time).
    out.line = merge("line", { aria: false });
    return out;
  }

  // The page's template with only data, y scale type, x type/title, legend and config set.
  function makeSpec(template, rows, settings, noLegend, singleRun, theme, width, colorScale) {
    const spec = JSON.parse(template);
    spec.data = { name: DATASET, values: rows };
    // The layer that marks one-point series would be empty without any, and an empty
    // layer makes Vega warn about an infinite extent: leave it out then.
    if (Array.isArray(spec.layer) && !rows.some((row) => row.single)) {
      spec.layer = spec.layer.filter(
        (layer) => !(layer.transform || []).some((t) => t.filter === "datum.single")
      );
    }
    const wall = settings.xaxis === "wall";
    for (const layer of Array.isArray(spec.layer) ? spec.layer : [spec]) {
      const enc = layer.encoding;
      if (!enc) continue;
      if (enc.y) {
        const scale = { ...(enc.y.scale || {}), type: settings.log ? "log" : "linear" };
        if (settings.log) delete scale.zero; // Vega-Lite warns that "zero" does not apply to log
        enc.y.scale = scale;
      }
      if (enc.x) {
        enc.x.type = wall ? "temporal" : "quantitative";
        enc.x.title = X_TITLES[settings.xaxis];
        // Steps are whole numbers: no "0.5" ticks on a short run.
        if (settings.xaxis === "step") enc.x.axis = { ...(enc.x.axis || {}), tickMinStep: 1 };
      }
      if (noLegend && enc.color) enc.color.legend = null;
      if (colorScale && enc.color) enc.color.scale = { ...(enc.color.scale || {}), ...colorScale };
    }
    spec.config = themedConfig(spec.config, theme, singleRun, width);
    return spec;
  }

  /* ---------------------------------------------------------------- DOM */

  function el(tag, props, children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (k === "text") node.textContent = v;
        else if (k === "className") node.className = v;
        else node.setAttribute(k, v);
      }
    }
    if (children) for (const c of children) node.append(c);
    return node;
  }

  function loadErrorMessage(reason) {
    return el("p", { className: "xs-chart-status xs-chart-error", role: "alert" }, [
      `Could not load chart data (${reason}). Open the site through a web server, e.g. `,
      el("code", { text: "xsite serve" }),
      ".",
    ]);
  }

  let sectionCounter = 0;

  /* ------------------------------------------------------------ sections */

  class ChartSection {
    constructor(section, options) {
      this.section = section;
      this.id = ++sectionCounter;
      const colors = options && Array.isArray(options.colors) ? options.colors.map(String) : null;
      this.colors = colors && colors.length ? colors : null;
      this.io = null;
      this.settings = { ...loadSettings(), ...authorSettings(section) };
      this.charts = [];
      this.busy = false;
      this.theme = null;
      this.controls = null;
      this.debounceTimer = 0;

      for (const fig of section.querySelectorAll("figure.xs-chart")) {
        let plot = fig.querySelector(".xs-chart-plot");
        if (!plot) {
          plot = el("div", { className: "xs-chart-plot" });
          fig.append(plot);
        }
        const notes = el("div", { className: "xs-chart-notes" });
        plot.after(notes);
        plot.replaceChildren(el("p", { className: "xs-chart-status", text: "Loading…" }));
        fig.setAttribute("aria-busy", "true");
        this.charts.push({
          fig,
          plot,
          notes,
          key: fig.getAttribute("data-key") || "",
          visible: false,
          dirty: true,
          result: null, // vega-embed result currently shown
          holder: null,
          specKey: null,
          rows: null,
        });
      }

      this.buildControls();
      this.ready = this.load();
      this.observe();
    }

    /* data */

    async load() {
      if (typeof window.vegaEmbed !== "function") {
        return { error: "the chart library assets/vega.js did not load" };
      }
      const specUrl = this.section.getAttribute("data-spec");
      let list;
      try {
        list = JSON.parse(this.section.getAttribute("data-sources") || "[]");
        if (!Array.isArray(list)) throw new Error("not a list");
      } catch (e) {
        return { error: "invalid data-sources attribute" };
      }
      if (!specUrl) return { error: "missing data-spec attribute" };
      if (window.location.protocol === "file:") {
        // Browsers refuse fetch() from file:// pages (and log a CORS error per request).
        return { error: "browsers block data requests from pages opened as files" };
      }
      if (list.length > MAX_LEGEND_RUNS && this.controls) {
        this.controls.append(el("span", {
          className: "xs-ctl-hint",
          text: `${list.length} runs: hover a line to see its run.`,
        }));
      }

      const base = document.baseURI;
      const labels = disambiguate(list);
      const specP = fetchJSON(new URL(specUrl, base).href);
      const docsP = list.map((s) => {
        try {
          return fetchJSON(new URL(String(s && s.src), base).href);
        } catch (e) {
          return Promise.reject(e);
        }
      });
      const [specR, ...docsR] = await Promise.allSettled([specP, ...docsP]);
      if (specR.status === "rejected") return { error: reasonOf(specR.reason) };

      const sources = [];
      const failed = [];
      docsR.forEach((r, i) => {
        if (r.status === "fulfilled" && r.value && typeof r.value === "object") {
          sources.push(new Source(labels[i], r.value));
        } else {
          failed.push(r.status === "rejected" ? reasonOf(r.reason) : "not a metrics document");
        }
      });
      if (!sources.length && failed.length) return { error: failed[0] };
      return {
        template: JSON.stringify(specR.value),
        sources,
        failed,
        total: list.length,
        noLegend: list.length <= 1 || list.length > MAX_LEGEND_RUNS,
        // One colour per run, in the order of data-sources, whatever runs a chart shows.
        colorScale: this.colors
          ? { domain: labels, range: labels.map((_, i) => this.colors[i % this.colors.length]) }
          : null,
      };
    }

    /* controls */

    buildControls() {
      let box = this.section.querySelector(".xs-chart-controls");
      if (!box) {
        box = el("div", { className: "xs-chart-controls" });
        this.section.prepend(box);
      }
      box.replaceChildren();
      this.controls = box;
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", "Chart options");
      const id = (name) => `xs-charts-${this.id}-${name}`;
      const s = this.settings;

      const range = el("input", {
        type: "range",
        id: id("smoothing"),
        min: "0",
        max: "0.99",
        step: "0.01",
      });
      range.value = String(s.smoothing);
      const out = el("output", { for: id("smoothing"), className: "xs-ctl-value" });
      out.textContent = s.smoothing.toFixed(2);
      const smoothing = el("div", { className: "xs-ctl xs-ctl-range" }, [
        el("label", { for: id("smoothing"), text: "Smoothing" }),
        range,
        out,
      ]);

      const select = el("select", { id: id("xaxis") });
      for (const [value, text] of X_AXES) select.append(el("option", { value, text }));
      select.value = s.xaxis;
      const xaxis = el("div", { className: "xs-ctl" }, [
        el("label", { for: id("xaxis"), text: "X axis" }),
        select,
      ]);

      const check = el("input", { type: "checkbox", id: id("log") });
      check.checked = s.log;
      const log = el("div", { className: "xs-ctl xs-ctl-check" }, [
        check,
        el("label", { for: id("log"), text: "Log scale (y)" }),
      ]);

      box.append(smoothing, xaxis, log);

      range.addEventListener("input", () => {
        const w = clampSmoothing(range.value);
        out.textContent = w.toFixed(2);
        this.update({ smoothing: w }, true);
      });
      range.addEventListener("change", () => this.update({ smoothing: clampSmoothing(range.value) }, false));
      select.addEventListener("change", () => {
        if (hasOwn(X_TITLES, select.value)) this.update({ xaxis: select.value }, false);
      });
      check.addEventListener("change", () => this.update({ log: check.checked }, false));
    }

    update(patch, debounce) {
      const next = { ...this.settings, ...patch };
      const changed = Object.keys(patch).some((k) => this.settings[k] !== next[k]);
      if (!changed && !debounce && !this.debounceTimer) return;
      this.settings = next;
      if (changed) {
        saveSettings(next);
        this.invalidate();
      }
      clearTimeout(this.debounceTimer);
      this.debounceTimer = 0;
      if (debounce) {
        this.debounceTimer = setTimeout(() => {
          this.debounceTimer = 0;
          this.pump();
        }, SLIDER_DEBOUNCE_MS);
      } else {
        this.pump();
      }
    }

    // Every chart is out of date: those in view re-render now, the others when seen.
    invalidate() {
      for (const c of this.charts) {
        c.dirty = true;
        c.fig.removeAttribute("data-rendered");
      }
    }

    themeChanged() {
      if (!this.theme) return;
      const t = readTheme(this.section);
      if (t.key === this.theme.key) return;
      this.theme = t;
      this.invalidate();
      this.pump();
    }

    /* lazy rendering */

    observe() {
      if (!("IntersectionObserver" in window)) {
        for (const c of this.charts) c.visible = true;
        this.pump();
        return;
      }
      const byFig = new Map(this.charts.map((c) => [c.fig, c]));
      const io = new IntersectionObserver(
        (entries) => {
          let any = false;
          for (const e of entries) {
            const c = byFig.get(e.target);
            if (!c) continue;
            c.visible = e.isIntersecting;
            if (c.visible && c.dirty) any = true;
          }
          if (any) this.pump();
        },
        { rootMargin: ROOT_MARGIN }
      );
      for (const c of this.charts) io.observe(c.fig);
      this.io = io;
    }

    // The section left the page: stop watching it and free its Vega views.
    dispose() {
      if (this.io) this.io.disconnect();
      for (const c of this.charts) {
        if (c.result) c.result.finalize();
        c.result = null;
        c.rows = null;
        c.visible = false; // a drawing under way draws no further chart
      }
    }

    // Render dirty, visible charts one at a time in document order, so the first
    // chart on screen appears as soon as possible and scrolling stays responsive.
    async pump() {
      if (this.busy) return;
      this.busy = true;
      try {
        for (;;) {
          const c = this.charts.find((x) => x.visible && x.dirty);
          if (!c) break;
          c.dirty = false;
          try {
            await this.render(c);
          } catch (err) {
            this.showMessage(c, el("p", {
              className: "xs-chart-status xs-chart-error",
              role: "alert",
              text: `Could not draw this chart (${reasonOf(err)}).`,
            }));
            this.finish(c);
          }
          await new Promise((r) => setTimeout(r, 0)); // let the browser paint
        }
      } finally {
        this.busy = false;
      }
    }

    /* drawing */

    async render(c, full) {
      const data = await this.ready;
      const settings = this.settings;
      if (data.error) {
        this.setNotes(c, []);
        this.showMessage(c, loadErrorMessage(data.error));
        this.finish(c);
        return;
      }
      if (!this.theme) this.theme = readTheme(this.section);
      const theme = this.theme;

      const specKey = [settings.xaxis, settings.log, theme.key].join("|");
      const inPlace = Boolean(!full && c.result && c.specKey === specKey && c.rows);
      const r = buildRows(data.sources, c.key, settings, inPlace);
      const notes = [];
      if (r.nonFinite) {
        notes.push(`${r.nonFinite} non-finite value${r.nonFinite === 1 ? "" : "s"} (NaN/∞) not drawn`);
      }
      if (settings.log && r.nonPositive) {
        notes.push(`${r.nonPositive} value${r.nonPositive === 1 ? "" : "s"} ≤ 0 not drawn on the log scale`);
      }
      if (r.noTime) {
        notes.push(`${r.noTime} point${r.noTime === 1 ? "" : "s"} without a usable time not drawn`);
      }
      if (data.failed.length) {
        notes.push(`Could not load data for ${data.failed.length} of ${data.total} runs (${data.failed[0]})`);
      }
      this.setNotes(c, notes);

      if (!r.present) {
        this.showMessage(c, el("p", { className: "xs-chart-status", text: "No data for this metric." }));
        this.finish(c, settings);
        return;
      }
      if (!r.drawable) {
        let text = "No finite values to draw.";
        if (settings.log && r.nonPositive) text = "No positive finite values to draw on a log scale.";
        else if (r.noTime) text = "No points with a usable time to draw; try Step for the x axis.";
        this.showMessage(c, el("p", { className: "xs-chart-status", text }));
        this.finish(c, settings);
        return;
      }

      if (inPlace && r.rows.length === c.rows.length) {
        // Only the smoothing changed: update that field of the drawn points, which is
        // much cheaper for Vega than replacing them.
        const next = new Map();
        for (let i = 0; i < c.rows.length; i++) next.set(c.rows[i], r.rows[i]);
        const view = c.result.view;
        const value = (t) => (next.has(t) ? next.get(t) : t.smoothed);
        view.change(DATASET, view.changeset().modify(() => true, "smoothed", value));
        await view.runAsync();
        this.finish(c, settings);
        return;
      }
      if (inPlace) return this.render(c, true); // not expected: same key and x axis

      const spec = makeSpec(data.template, r.rows, settings, data.noLegend, data.total === 1, theme, c.plot.clientWidth, data.colorScale);

      const holder = el("div", { className: "xs-chart-vega" });
      const old = c.result;
      const oldHolder = c.holder;
      // Keep the figure's height while the old chart is swapped for the new one.
      if (oldHolder) c.plot.style.minHeight = c.plot.offsetHeight + "px";
      c.plot.append(holder);
      if (!oldHolder) holder.classList.add("xs-chart-vega-pending");
      let result;
      try {
        result = await window.vegaEmbed(holder, spec, {
          renderer: "svg",
          actions: false,
          tooltip: { theme: theme.dark ? "dark" : "light" },
        });
      } catch (err) {
        holder.remove();
        c.plot.style.minHeight = "";
        throw err;
      }
      if (old) old.finalize();
      c.rows = null;
      // Drop whatever else the plot showed (old chart, "Loading…", a message).
      for (const child of Array.from(c.plot.childNodes)) if (child !== holder) child.remove();
      holder.classList.remove("xs-chart-vega-pending");
      c.plot.style.minHeight = "";
      c.result = result;
      c.holder = holder;
      c.specKey = specKey;
      c.rows = r.rows; // the objects Vega now holds as its tuples
      this.finish(c, settings);
    }

    showMessage(c, node) {
      if (c.result) {
        c.result.finalize();
        c.result = null;
        c.holder = null;
        c.specKey = null;
        c.rows = null;
      }
      c.plot.replaceChildren(node);
      c.fig.classList.add("xs-chart-message");
    }

    setNotes(c, notes) {
      c.notes.replaceChildren(...notes.map((t) => el("p", { className: "xs-chart-note", text: t })));
    }

    finish(c, settings) {
      if (c.result) c.fig.classList.remove("xs-chart-message");
      c.fig.removeAttribute("aria-busy");
      if (settings) c.fig.setAttribute("data-smoothing", String(settings.smoothing));
      if (!c.dirty) c.fig.setAttribute("data-rendered", "true");
    }
  }

  // Equal labels get " (<first 6 of run id>)" appended so legends stay distinct.
  function disambiguate(list) {
    const base = list.map((s, i) => {
      const label = s && s.label != null && String(s.label) !== "" ? String(s.label) : null;
      const run = s && s.run != null ? String(s.run) : "";
      return label || run || `run ${i + 1}`;
    });
    const counts = new Map();
    for (const l of base) counts.set(l, (counts.get(l) || 0) + 1);
    const seen = new Set();
    return base.map((l, i) => {
      let out = l;
      if (counts.get(l) > 1) {
        const run = list[i] && list[i].run != null ? String(list[i].run) : "";
        out = run ? `${l} (${run.slice(0, 6)})` : l;
      }
      let unique = out;
      for (let k = 2; seen.has(unique); k++) unique = `${out} #${k}`;
      seen.add(unique);
      return unique;
    });
  }

  /* ---------------------------------------------------------------- start */

  const mounted = new WeakMap(); // section element -> ChartSection
  let live = []; // mounted sections still in the page, for theme changes
  let watching = false;

  function mount(section, options) {
    if (!(section instanceof Element)) throw new TypeError("xsite.charts.mount needs an element");
    let chartSection = mounted.get(section);
    if (chartSection) return chartSection;
    live = live.filter((s) => {
      if (s.section.isConnected) return true;
      s.dispose();
      return false;
    });
    chartSection = new ChartSection(section, options);
    mounted.set(section, chartSection);
    live.push(chartSection);
    watchTheme();
    return chartSection;
  }

  function watchTheme() {
    if (watching) return;
    watching = true;
    let pending = false;
    const onTheme = () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        for (const s of live) if (s.section.isConnected) s.themeChanged();
      });
    };
    if (window.matchMedia) {
      const mq = window.matchMedia("(prefers-color-scheme: dark)");
      if (mq.addEventListener) mq.addEventListener("change", onTheme);
    }
    // Themes switch schemes by an attribute of <html> or <body> (Material for MkDocs:
    // data-md-color-scheme on <body>).
    const attributeFilter = ["class", "data-theme", "style", "data-md-color-scheme"];
    new MutationObserver(onTheme).observe(document.documentElement, {
      attributes: true,
      attributeFilter,
    });
    if (document.body) {
      new MutationObserver(onTheme).observe(document.body, { attributes: true, attributeFilter });
    }
  }

  function start() {
    for (const section of document.querySelectorAll("section.xs-charts")) mount(section);
  }

  window.xsite = window.xsite || {};
  window.xsite.charts = Object.freeze({ mount: (section, options) => mount(section, options) });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
