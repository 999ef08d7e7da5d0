/* xsite runs table: sortable, filterable, groupable, selectable, virtually scrolled.
 * Classic script (loaded with `defer`, after query.js, whose language filters the rows);
 * exposes no globals.
 * Markup contract: <div class="xs-runs-table" data-src="runs.json" data-root="../../" data-project="p">
 * The filter lives in the URL (#q=<query>), so a filtered table can be shared as a link;
 * ticked runs open the comparison page (compare/#runs=<id>,<id>).
 */
(function () {
  "use strict";

  var ROW_H = 34; // px; must match the CSS row height
  var OVERSCAN = 20; // rows rendered above and below the viewport
  var FILTER_DEBOUNCE_MS = 100;
  var MAX_COMPARED = 1000; // runs one comparison link carries
  var NUMERIC_TYPES = { number: true, duration: true };
  var instanceCount = 0;
  var NAN_KEY = { nan: true }; // sort key for NaN: after every number, before missing values
  var collator = new Intl.Collator(undefined, { numeric: true });

  // ---------------------------------------------------------------- helpers

  function h(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  function pad2(n) {
    return n < 10 ? "0" + n : String(n);
  }

  /** JSON value -> number, or null when missing. "NaN"/"Infinity"/"-Infinity" strings allowed. */
  function toNumber(v) {
    if (v === null || v === undefined) return null;
    if (typeof v === "number") return v;
    if (typeof v === "string") {
      if (v === "NaN") return NaN;
      if (v === "Infinity" || v === "+Infinity") return Infinity;
      if (v === "-Infinity") return -Infinity;
      if (v.trim() === "") return NaN;
      return Number(v);
    }
    if (typeof v === "boolean") return v ? 1 : 0;
    return NaN;
  }

  function stripMantissaZeros(s) {
    // "1.200e+5" -> "1.2e+5", "1.000e+5" -> "1e+5"
    return s.replace(/\.?0+e/, "e");
  }

  function formatNumber(x) {
    if (Number.isNaN(x)) return "NaN";
    if (x === Infinity) return "\u221e";
    if (x === -Infinity) return "\u2212\u221e";
    if (x === 0) return "0";
    var ax = Math.abs(x);
    if (Number.isInteger(x) && ax < 1e6) return String(x);
    var rounded = Number(x.toPrecision(4));
    var ar = Math.abs(rounded);
    if (ar >= 1e-4 && ar < 1e4) return String(rounded);
    return stripMantissaZeros(x.toExponential(3));
  }

  function formatDuration(s) {
    if (Number.isNaN(s)) return "NaN";
    if (s === Infinity) return "\u221e";
    if (s === -Infinity) return "\u2212\u221e";
    var neg = s < 0 ? "-" : "";
    s = Math.abs(s);
    if (s < 10 && !Number.isInteger(s)) {
      var r = Math.round(s * 10) / 10;
      if (r < 10) return neg + r + "s";
    }
    var t = Math.round(s);
    if (t < 60) return neg + t + "s";
    if (t < 3600) return neg + Math.floor(t / 60) + "m " + pad2(t % 60) + "s";
    var m = Math.round(s / 60);
    if (m < 1440) return neg + Math.floor(m / 60) + "h " + pad2(m % 60) + "m";
    var hrs = Math.round(s / 3600);
    return neg + Math.floor(hrs / 24) + "d " + pad2(hrs % 24) + "h";
  }

  function formatDate(ms) {
    var d = new Date(ms);
    return (
      d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate()) +
      " " + pad2(d.getHours()) + ":" + pad2(d.getMinutes())
    );
  }

  function safeJson(v) {
    try {
      var s = JSON.stringify(v);
      return s === undefined ? String(v) : s;
    } catch (e) {
      return String(v);
    }
  }

  function asTags(v) {
    if (v === null || v === undefined) return [];
    if (Array.isArray(v)) return v.filter(function (t) { return t !== null && t !== undefined; }).map(String);
    return [String(v)];
  }

  /** Only relative URLs (no scheme, not absolute-path, not protocol-relative). */
  function isSafeRelativeUrl(u) {
    return typeof u === "string" && u !== "" && !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(u) &&
      !/^[\\/]/.test(u) && !/[\u0000-\u001f]/.test(u);
  }

  function storageGet(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function storageSet(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch (e) {
      /* storage unavailable: the choice just does not persist */
    }
  }

  function plural(n, one, many) {
    return n.toLocaleString() + " " + (n === 1 ? one : many);
  }

  // ---------------------------------------------------------------- errors

  function showError(root, reason) {
    root.textContent = "";
    var p = h("p", "xs-runs-table-error");
    p.setAttribute("role", "alert");
    p.appendChild(document.createTextNode(
      "Could not load the runs table (" + reason + "). Open the site through a web server, e.g. "));
    p.appendChild(h("code", null, "xsite serve"));
    p.appendChild(document.createTextNode(" or "));
    p.appendChild(h("code", null, "python -m http.server"));
    p.appendChild(document.createTextNode("."));
    root.appendChild(p);
    root.setAttribute("data-error", "true");
    root.setAttribute("data-ready", "true");
  }

  function load(root) {
    var src = root.getAttribute("data-src") || "runs.json";
    fetch(src, { credentials: "same-origin" })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status + (res.statusText ? " " + res.statusText : ""));
        return res.json();
      })
      .then(function (data) {
        if (!data || !Array.isArray(data.columns) || !Array.isArray(data.rows)) {
          throw new Error("unexpected data format");
        }
        new RunsTable(root, data);
      })
      .catch(function (err) {
        var reason = (err && err.message) ? err.message : String(err);
        showError(root, reason);
      });
  }

  /** A row's values in column order: each column names the path of its value in a row
   * object (["metrics", "loss", 0]). */
  function rowValues(row, columns) {
    if (!row) return [];
    return columns.map(function (c) {
      var v = row;
      for (var i = 0; c.path && i < c.path.length && v != null; i++) {
        v = Object.prototype.hasOwnProperty.call(v, c.path[i]) ? v[c.path[i]] : null;
      }
      return v === undefined || !c.path ? null : v;
    });
  }

  // ---------------------------------------------------------------- component

  function RunsTable(root, data) {
    var self = this;
    var uid = "xs-runs-" + (++instanceCount);
    this.root = root;
    this.siteRoot = root.getAttribute("data-root") || "";
    this.project = root.getAttribute("data-project") || data.project || "";
    this.storageKey = "xsite:columns:" + this.project;

    this.columns = data.columns.map(function (c, i) {
      var type = String(c.type || "string");
      return {
        index: i,
        id: String(c.id),
        label: c.label != null ? String(c.label) : String(c.id),
        group: c.group != null ? String(c.group) : "other",
        type: type,
        numeric: !!NUMERIC_TYPES[type],
        path: Array.isArray(c.path) ? c.path : null,
      };
    });
    var columns = this.columns;
    this.rows = data.rows.map(function (r) {
      return {
        id: r && r.id != null ? String(r.id) : "",
        url: r && isSafeRelativeUrl(r.url) ? r.url : null,
        values: rowValues(r, columns),
        data: r || {},
      };
    });
    this.n = this.rows.length;

    var byId = {};
    this.columns.forEach(function (c) { byId[c.id] = c; });
    this.byId = byId;
    this.nameCol = byId.name || null;
    this.statusCol = byId.status || this.columns.find(function (c) { return c.type === "status"; }) || null;
    this.tagsCol = byId.tags || this.columns.find(function (c) { return c.type === "tags"; }) || null;
    this.paramCols = this.columns.filter(function (c) { return c.group === "params"; });

    var defVisible = Array.isArray(data.visible) ? data.visible.map(String).filter(function (id) { return byId[id]; }) : [];
    if (!defVisible.length) defVisible = this.columns.map(function (c) { return c.id; });
    this.defaultVisible = this.withName(defVisible);
    this.visibleIds = this.loadVisible();

    this.textCache = [];   // per column: lazily filled array of display text
    this.keyCache = [];    // per column: sort keys
    this.queryRows = null; // per row, in the shape query.js reads; made on first filter

    this.order = [];
    for (var i = 0; i < this.n; i++) this.order.push(i);
    this.sortCol = null;
    this.sortDir = 1;
    this.queryText = "";
    this.predicate = null; // the filter's compiled query; null shows every run
    this.selected = new Set(); // ticked run ids
    this.groupBy = "";
    this.collapsed = new Set();
    this.items = [];      // row index (number) or group object
    this.itemGroup = [];  // group object for each item (grouped view), else null
    this.matchCount = this.n;

    this.rs = 0;          // rendered item range [rs, re)
    this.re = 0;
    this.rowEls = [];
    this.rafPending = false;

    this.buildDom(uid);

    var started = byId.started_at || this.columns.find(function (c) { return c.type === "date"; });
    if (started) this.applySort(started, -1);
    this.computeView();
    this.buildHeader();
    this.render(true);
    this.updateCount();
    var shared = filterFromUrl();
    if (shared) {
      this.filterInput.value = shared;
      this.setFilter(shared, true);
    }

    this.scroll.addEventListener("scroll", function () { self.schedule(); }, { passive: true });
    window.addEventListener("resize", function () { self.schedule(); });

    root.setAttribute("data-ready", "true");
  }

  RunsTable.prototype.withName = function (ids) {
    var out = ids.slice();
    if (this.nameCol && out.indexOf(this.nameCol.id) < 0) out.unshift(this.nameCol.id);
    return out;
  };

  RunsTable.prototype.loadVisible = function () {
    var raw = storageGet(this.storageKey);
    if (raw) {
      try {
        var ids = JSON.parse(raw);
        if (Array.isArray(ids)) {
          var byId = this.byId;
          ids = ids.map(String).filter(function (id) { return byId[id]; });
          if (ids.length) return this.withName(ids);
        }
      } catch (e) {
        /* ignore corrupt value */
      }
    }
    return this.defaultVisible.slice();
  };

  RunsTable.prototype.visibleColumns = function () {
    var set = new Set(this.visibleIds);
    return this.columns.filter(function (c) { return set.has(c.id); });
  };

  // ------------------------------------------------------------ cell values

  RunsTable.prototype.raw = function (ci, ri) {
    var v = this.rows[ri].values[ci];
    return v === undefined ? null : v;
  };

  RunsTable.prototype.text = function (col, ri) {
    var cache = this.textCache[col.index];
    if (!cache) cache = this.textCache[col.index] = new Array(this.n);
    var t = cache[ri];
    if (t === undefined) t = cache[ri] = this.computeText(col, this.raw(col.index, ri));
    return t;
  };

  RunsTable.prototype.computeText = function (col, v) {
    if (v === null) return "";
    switch (col.type) {
      case "number":
        return formatNumber(toNumber(v));
      case "duration":
        return formatDuration(toNumber(v));
      case "date": {
        var ms = typeof v === "number" ? v * 1000 : Date.parse(String(v));
        return Number.isNaN(ms) ? String(v) : formatDate(ms);
      }
      case "bool":
        return v === true ? "true" : v === false ? "false" : String(v);
      case "tags":
        return asTags(v).join(", ");
      case "json":
        return safeJson(v);
      default:
        return typeof v === "object" ? safeJson(v) : String(v);
    }
  };

  /** Sort keys for a column: {kind: "num"|"str", keys: Array (null = missing, sorts last)} */
  RunsTable.prototype.sortKeys = function (col) {
    var cached = this.keyCache[col.index];
    if (cached) return cached;
    var keys = new Array(this.n);
    var kind = "num";
    var ci = col.index;
    var i, v, x;
    if (col.type === "number" || col.type === "duration") {
      for (i = 0; i < this.n; i++) {
        x = toNumber(this.raw(ci, i));
        keys[i] = x === null ? null : Number.isNaN(x) ? NAN_KEY : x;
      }
    } else if (col.type === "date") {
      for (i = 0; i < this.n; i++) {
        v = this.raw(ci, i);
        x = v === null ? NaN : typeof v === "number" ? v * 1000 : Date.parse(String(v));
        keys[i] = Number.isNaN(x) ? null : x;
      }
    } else if (col.type === "bool") {
      for (i = 0; i < this.n; i++) {
        v = this.raw(ci, i);
        keys[i] = v === true ? 1 : v === false ? 0 : null;
      }
    } else {
      kind = "str";
      for (i = 0; i < this.n; i++) {
        x = this.raw(ci, i) === null ? null : this.text(col, i);
        // An empty tag list counts as missing.
        keys[i] = col.type === "tags" && x === "" ? null : x;
      }
    }
    cached = this.keyCache[col.index] = { kind: kind, keys: keys };
    return cached;
  };

  // ------------------------------------------------------------ sort / filter / group

  RunsTable.prototype.applySort = function (col, dir) {
    this.sortCol = col;
    this.sortDir = dir;
    var sk = this.sortKeys(col);
    var keys = sk.keys;
    var cmp = sk.kind === "str" ? collator.compare : function (a, b) { return a < b ? -1 : a > b ? 1 : 0; };
    // Array.prototype.sort is stable: ties keep the previous order.
    // Missing values (null) sort last and NaN just before them, in both directions.
    this.order.sort(function (a, b) {
      var ka = keys[a], kb = keys[b];
      if (ka === null) return kb === null ? 0 : 1;
      if (kb === null) return -1;
      if (ka === NAN_KEY) return kb === NAN_KEY ? 0 : 1;
      if (kb === NAN_KEY) return -1;
      return dir * cmp(ka, kb);
    });
  };

  /** The rows as the query language reads them (docs/query.md); the table has no notes. */
  RunsTable.prototype.rowsForQuery = function () {
    if (this.queryRows) return this.queryRows;
    var project = this.project;
    this.queryRows = this.rows.map(function (row) {
      var d = row.data;
      var metrics = {};
      var m = d.metrics || {};
      for (var key in m) {
        if (Object.prototype.hasOwnProperty.call(m, key)) metrics[key] = Array.isArray(m[key]) ? m[key][0] : m[key];
      }
      return {
        id: row.id, name: d.name, project: project, status: d.status, tags: asTags(d.tags),
        started_at: d.started_at, ended_at: d.ended_at === undefined ? null : d.ended_at,
        duration_s: d.duration_s, notes: null, params: d.params || {}, metrics: metrics,
      };
    });
    return this.queryRows;
  };

  RunsTable.prototype.computeView = function () {
    var self = this;
    var rows = this.order;
    if (this.predicate) {
      var queryRows = this.rowsForQuery();
      var keep = this.predicate;
      rows = rows.filter(function (ri) { return keep(queryRows[ri]); });
    }
    this.matchCount = rows.length;
    if (!this.groupBy) {
      this.items = rows;
      this.itemGroup = null;
      return;
    }
    var groups = this.groupBy === "\u0000tag" ? this.groupByTag(rows) : this.groupByParam(rows, this.byId[this.groupBy]);
    var items = [], itemGroup = [];
    groups.forEach(function (g) {
      g.collapsed = self.collapsed.has(g.key);
      items.push(g);
      itemGroup.push(g);
      if (!g.collapsed) {
        for (var i = 0; i < g.rows.length; i++) {
          items.push(g.rows[i]);
          itemGroup.push(g);
        }
      }
    });
    this.items = items;
    this.itemGroup = itemGroup;
  };

  function compareGroups(a, b) {
    if (a.rank !== b.rank) return a.rank - b.rank;
    if (a.rank === 0) return a.sortValue - b.sortValue;
    return collator.compare(a.sortValue, b.sortValue);
  }

  RunsTable.prototype.groupByTag = function (rows) {
    var map = new Map();
    var tci = this.tagsCol ? this.tagsCol.index : -1;
    function add(key, label, rank, sortValue, ri) {
      var g = map.get(key);
      if (!g) {
        g = { key: key, label: label, rank: rank, sortValue: sortValue, rows: [] };
        map.set(key, g);
      }
      g.rows.push(ri);
    }
    for (var i = 0; i < rows.length; i++) {
      var ri = rows[i];
      var tags = tci >= 0 ? asTags(this.raw(tci, ri)) : [];
      var seen = new Set();
      if (!tags.length) add("\u0000none", "(no tag)", 2, "", ri);
      for (var j = 0; j < tags.length; j++) {
        if (seen.has(tags[j])) continue;
        seen.add(tags[j]);
        add("t:" + tags[j], "tag = " + tags[j], 1, tags[j], ri);
      }
    }
    return Array.from(map.values()).sort(compareGroups);
  };

  RunsTable.prototype.groupByParam = function (rows, col) {
    var map = new Map();
    for (var i = 0; i < rows.length; i++) {
      var ri = rows[i];
      var v = this.raw(col.index, ri);
      var key, rank, sortValue, text;
      if (v === null) {
        key = "\u0000none"; rank = 2; sortValue = ""; text = "(none)";
      } else {
        text = this.text(col, ri);
        var x = col.numeric || typeof v === "number" ? toNumber(v) : NaN;
        if (!Number.isNaN(x) && (col.numeric || typeof v === "number")) {
          key = "n:" + x; rank = 0; sortValue = x;
        } else {
          key = "s:" + text; rank = 1; sortValue = text;
        }
      }
      var g = map.get(key);
      if (!g) {
        g = { key: key, label: col.label + " = " + text, rank: rank, sortValue: sortValue, rows: [] };
        map.set(key, g);
      }
      g.rows.push(ri);
    }
    return Array.from(map.values()).sort(compareGroups);
  };

  // ------------------------------------------------------------ DOM

  RunsTable.prototype.buildDom = function (uid) {
    var self = this;
    var root = this.root;
    root.textContent = "";

    var toolbar = h("div", "xs-runs-toolbar");

    // Filter
    var filterWrap = h("div", "xs-runs-filter");
    var filterLabel = h("label", "xs-visually-hidden", "Filter runs");
    filterLabel.htmlFor = uid + "-filter";
    var filter = h("input", "xs-runs-filter-input");
    filter.type = "search";
    filter.id = uid + "-filter";
    filter.placeholder = "Filter runs\u2026  e.g. cnn and params.lr < 0.01";
    filter.autocomplete = "off";
    filter.spellcheck = false;
    var help = buildQueryHelp();
    var filterError = h("div", "xs-runs-filter-error");
    filterError.id = uid + "-filter-error";
    filterError.setAttribute("role", "alert");
    filter.setAttribute("aria-describedby", filterError.id);
    filterWrap.appendChild(filterLabel);
    filterWrap.appendChild(filter);
    filterWrap.appendChild(help);
    filterWrap.appendChild(filterError);
    toolbar.appendChild(filterWrap);
    this.filterInput = filter;
    this.filterError = filterError;

    var timer = 0;
    filter.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { self.setFilter(filter.value); }, FILTER_DEBOUNCE_MS);
    });
    filter.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {
        clearTimeout(timer);
        self.setFilter(filter.value);
      }
    });

    // Group by
    var groupWrap = h("div", "xs-runs-groupby");
    var groupLabel = h("label", null, "Group by");
    groupLabel.htmlFor = uid + "-group";
    var select = h("select");
    select.id = uid + "-group";
    select.appendChild(new Option("(none)", ""));
    if (this.tagsCol) select.appendChild(new Option("tag", "\u0000tag"));
    this.paramCols.forEach(function (c) {
      var opt = new Option(c.label, c.id);
      opt.title = c.id;
      select.appendChild(opt);
    });
    select.addEventListener("change", function () { self.setGroupBy(select.value); });
    groupWrap.appendChild(groupLabel);
    groupWrap.appendChild(select);
    toolbar.appendChild(groupWrap);

    // Column chooser
    toolbar.appendChild(this.buildChooser(uid));

    // Selection → comparison
    toolbar.appendChild(this.buildSelectionBar());

    // Count
    var count = h("div", "xs-runs-count");
    count.setAttribute("aria-live", "polite");
    count.setAttribute("role", "status");
    toolbar.appendChild(count);
    this.countEl = count;

    root.appendChild(toolbar);

    // Table in scroll container
    var scroll = h("div", "xs-runs-scroll");
    var table = h("table", "xs-runs");
    var caption = h("caption", "xs-visually-hidden", "Runs" + (this.project ? " of project " + this.project : ""));
    table.appendChild(caption);
    this.colgroup = h("colgroup");
    table.appendChild(this.colgroup);
    this.thead = h("thead");
    table.appendChild(this.thead);
    this.tbody = h("tbody");
    table.appendChild(this.tbody);
    scroll.appendChild(table);
    root.appendChild(scroll);
    this.scroll = scroll;
    this.table = table;

    this.tbody.addEventListener("change", function (e) {
      var box = e.target;
      if (!box.classList || !box.classList.contains("xs-run-select")) return;
      var id = box.getAttribute("data-run-id");
      if (box.checked) self.selected.add(id);
      else self.selected.delete(id);
      self.updateSelection();
    });
    this.tbody.addEventListener("click", function (e) {
      var btn = e.target.closest ? e.target.closest("button.xs-group-toggle") : null;
      if (btn && self.tbody.contains(btn)) self.toggleGroup(btn.getAttribute("data-group-key"));
    });
  };

  var QUERY_EXAMPLES = [
    ["resnet cnn", "words: in the name, id, status, tags or param values"],
    ["metrics.val/acc > 0.9", "the last logged value"],
    ['params.optimizer.name = "adam"', "nested params by dotted key"],
    ['tags contains "cnn"', "a tag"],
    ['status in ("failed", "killed")', "one of several values"],
    ["params.seed = null", "a param the run never set"],
    ["metrics.`val acc` >= 90", "backticks quote a key with spaces"],
  ];

  function buildQueryHelp() {
    var details = h("details", "xs-runs-filter-help");
    var summary = h("summary", null, "?");
    summary.setAttribute("aria-label", "Query language help");
    details.appendChild(summary);
    var panel = h("div", "xs-runs-filter-help-panel");
    panel.appendChild(h("p", null, "Combine with and, or, not and parentheses; compare with = != < <= > >=."));
    var list = h("dl");
    QUERY_EXAMPLES.forEach(function (example) {
      list.appendChild(h("dt", null, example[0]));
      list.appendChild(h("dd", null, example[1]));
    });
    panel.appendChild(list);
    details.appendChild(panel);
    return details;
  }

  RunsTable.prototype.buildSelectionBar = function () {
    var self = this;
    var bar = h("div", "xs-runs-selection");
    var compare = h("a", "xs-compare-link", "Compare");
    var matching = h("button", "xs-select-matching", "Select shown");
    matching.type = "button";
    matching.title = "Tick every run the filter shows (up to " + MAX_COMPARED.toLocaleString() + ")";
    matching.addEventListener("click", function () {
      var rows = self.items.filter(function (item) { return typeof item === "number"; });
      for (var i = 0; i < rows.length && self.selected.size < MAX_COMPARED; i++) self.selected.add(self.rows[rows[i]].id);
      self.updateSelection();
      self.render(true);
    });
    var clear = h("button", "xs-select-clear", "Clear");
    clear.type = "button";
    clear.addEventListener("click", function () {
      self.selected.clear();
      self.updateSelection();
      self.render(true);
    });
    bar.appendChild(compare);
    bar.appendChild(matching);
    bar.appendChild(clear);
    this.compareLink = compare;
    this.clearButton = clear;
    this.updateSelection();
    return bar;
  };

  RunsTable.prototype.updateSelection = function () {
    var ids = Array.from(this.selected).slice(0, MAX_COMPARED);
    var link = this.compareLink;
    link.textContent = ids.length ? "Compare " + plural(ids.length, "run", "runs") : "Compare";
    if (ids.length) {
      link.href = this.siteRoot + "compare/#runs=" + ids.map(encodeURIComponent).join(",");
      link.removeAttribute("aria-disabled");
      link.title = "Open the selected runs side by side";
    } else {
      link.removeAttribute("href");
      link.setAttribute("aria-disabled", "true");
      link.title = "Tick runs in the table to compare them";
    }
    this.clearButton.disabled = !ids.length;
  };

  RunsTable.prototype.buildChooser = function (uid) {
    var self = this;
    var details = h("details", "xs-columns-chooser");
    var summary = h("summary", null, "Columns");
    details.appendChild(summary);
    var panel = h("div", "xs-columns-panel");
    panel.setAttribute("role", "group");
    panel.setAttribute("aria-label", "Visible columns");

    var groups = [];
    var byGroup = new Map();
    this.columns.forEach(function (c) {
      if (!byGroup.has(c.group)) {
        byGroup.set(c.group, []);
        groups.push(c.group);
      }
      byGroup.get(c.group).push(c);
    });
    this.checkboxes = new Map();
    groups.forEach(function (g) {
      var fs = h("fieldset", "xs-columns-group");
      fs.appendChild(h("legend", null, g));
      byGroup.get(g).forEach(function (c) {
        var label = h("label", "xs-columns-option");
        label.title = c.id;
        var cb = h("input");
        cb.type = "checkbox";
        cb.value = c.id;
        if (self.nameCol && c === self.nameCol) {
          cb.disabled = true;
          label.title = c.id + " (always shown)";
        }
        cb.addEventListener("change", function () { self.onColumnToggle(c, cb.checked); });
        label.appendChild(cb);
        label.appendChild(h("span", null, c.label));
        fs.appendChild(label);
        self.checkboxes.set(c.id, cb);
      });
      panel.appendChild(fs);
    });
    var actions = h("div", "xs-columns-actions");
    var reset = h("button", "xs-columns-reset", "Reset");
    reset.type = "button";
    reset.addEventListener("click", function () {
      self.visibleIds = self.defaultVisible.slice();
      storageSet(self.storageKey, null);
      self.syncCheckboxes();
      self.columnsChanged();
    });
    actions.appendChild(reset);
    panel.appendChild(actions);
    details.appendChild(panel);
    this.details = details;
    this.syncCheckboxes();

    details.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && details.open) {
        details.open = false;
        summary.focus();
      }
    });
    document.addEventListener("click", function (e) {
      if (details.open && !details.contains(e.target)) details.open = false;
    });
    return details;
  };

  RunsTable.prototype.syncCheckboxes = function () {
    var set = new Set(this.visibleIds);
    this.checkboxes.forEach(function (cb, id) { cb.checked = set.has(id); });
  };

  RunsTable.prototype.onColumnToggle = function (col, checked) {
    var set = new Set(this.visibleIds);
    if (checked) set.add(col.id);
    else if (col !== this.nameCol) set.delete(col.id);
    this.visibleIds = this.withName(this.columns.filter(function (c) { return set.has(c.id); }).map(function (c) { return c.id; }));
    storageSet(this.storageKey, JSON.stringify(this.visibleIds));
    this.columnsChanged();
  };

  RunsTable.prototype.columnsChanged = function () {
    this.buildHeader();
    this.scroll.scrollTop = 0;
    this.render(true);
  };

  // The longest displayed text among up to 200 sampled rows, in characters.
  function sampledLength(self, col, measure) {
    var maxLen = 0;
    var step = Math.max(1, Math.floor(self.n / 200));
    for (var i = 0; i < self.n; i += step) {
      var len = measure(i);
      if (len > maxLen) maxLen = len;
    }
    return maxLen;
  }

  function columnWidth(self, col) {
    var base;
    if (col === self.nameCol) {
      var nameLen = sampledLength(self, col, function (i) { return self.text(col, i).length; });
      return Math.min(300, Math.max(140, Math.round(nameLen * 7.2 + 30)));
    }
    switch (col.type) {
      case "status": base = 96; break;
      case "date": base = 152; break;
      case "duration": base = 84; break;
      case "number": base = 88; break;
      case "bool": base = 72; break;
      case "tags": {
        var tagLen = sampledLength(self, col, function (i) {
          var tags = self.rows[i].values[col.index];
          if (!Array.isArray(tags)) return 0;
          return tags.reduce(function (sum, t) { return sum + String(t).length * 7 + 22; }, 0);
        });
        base = Math.min(260, Math.max(90, tagLen + 16));
        break;
      }
      default: {
        var maxLen = sampledLength(self, col, function (i) { return self.text(col, i).length; });
        base = Math.min(280, Math.max(80, Math.round(maxLen * 7.2 + 22)));
      }
    }
    // Room for the header label (bold) and the sort arrow; long labels are cut with an
    // ellipsis (the full label is the button's title) rather than widening the column.
    var labelW = Math.round(col.label.length * 8 + 42);
    return Math.max(base, Math.min(labelW, 150));
  }

  RunsTable.prototype.buildHeader = function () {
    var self = this;
    var cols = this.visibleColumns();
    this.visCols = cols;
    this.colgroup.textContent = "";
    this.thead.textContent = "";
    this.headerCells = new Map();
    var tr = h("tr");
    cols.forEach(function (c, i) {
      var col = h("col");
      if (!self.widths) self.widths = {};
      var w = self.widths[c.id] || (self.widths[c.id] = columnWidth(self, c));
      col.style.width = w + "px";
      if (c === self.nameCol) col.className = "xs-col-name";
      self.colgroup.appendChild(col);

      var th = h("th", "xs-col-" + c.type + " xs-colgroup-" + c.group.replace(/[^a-zA-Z0-9_-]/g, "_"));
      th.scope = "col";
      if (c.numeric) th.classList.add("xs-num");
      if (i === 0 && c === self.nameCol) th.classList.add("xs-sticky-col");
      var btn = h("button", "xs-sort");
      btn.type = "button";
      btn.title = c.group + ": " + c.id;
      btn.appendChild(h("span", "xs-sort-label", c.label));
      var ind = h("span", "xs-sort-ind");
      ind.setAttribute("aria-hidden", "true");
      btn.appendChild(ind);
      btn.addEventListener("click", function () { self.onSortClick(c); });
      th.appendChild(btn);
      tr.appendChild(th);
      self.headerCells.set(c.id, { th: th, ind: ind });
    });
    this.thead.appendChild(tr);
    this.stickyFirst = cols.length > 0 && cols[0] === this.nameCol;
    this.updateSortIndicators();
  };

  RunsTable.prototype.updateSortIndicators = function () {
    var self = this;
    this.headerCells.forEach(function (cell, id) {
      var active = self.sortCol && self.sortCol.id === id;
      cell.th.setAttribute("aria-sort", active ? (self.sortDir > 0 ? "ascending" : "descending") : "none");
      cell.ind.textContent = active ? (self.sortDir > 0 ? "\u2191" : "\u2193") : "\u2195";
      cell.th.classList.toggle("xs-sorted", !!active);
    });
  };

  RunsTable.prototype.onSortClick = function (col) {
    var dir = this.sortCol === col && this.sortDir > 0 ? -1 : 1;
    this.applySort(col, dir);
    this.updateSortIndicators();
    this.computeView();
    this.scroll.scrollTop = 0;
    this.render(true);
  };

  /** Filter by query ``q``. A query with an error shows it under the box and keeps the
   * rows of the last good query: a typo never blanks the table. */
  RunsTable.prototype.setFilter = function (q, fromUrl) {
    var text = q.trim();
    if (text === this.queryText && !this.filterError.textContent) return;
    var predicate = null;
    if (text) {
      try {
        if (!window.xsite || !window.xsite.query) throw new Error("the query script assets/query.js did not load");
        predicate = window.xsite.query.compile(text);
      } catch (err) {
        this.showFilterError(text, err);
        return;
      }
    }
    this.showFilterError(text, null);
    this.queryText = text;
    this.predicate = predicate;
    if (!fromUrl) shareFilterInUrl(text);
    this.computeView();
    this.updateCount();
    this.scroll.scrollTop = 0;
    this.render(true);
  };

  RunsTable.prototype.showFilterError = function (text, err) {
    var box = this.filterError;
    box.textContent = "";
    this.filterInput.removeAttribute("aria-invalid");
    if (!err) return;
    this.filterInput.setAttribute("aria-invalid", "true");
    box.appendChild(h("span", null, (err && err.message) ? err.message : String(err)));
    if (typeof err.position === "number") {
      // The query with a caret under the position, as a compiler shows it.
      var pre = h("pre", "xs-runs-filter-caret");
      pre.textContent = text + "\n" + " ".repeat(Math.min(err.position, text.length)) + "^";
      box.appendChild(pre);
    }
  };

  RunsTable.prototype.setGroupBy = function (value) {
    this.groupBy = value;
    this.collapsed.clear();
    this.computeView();
    this.scroll.scrollTop = 0;
    this.render(true);
  };

  RunsTable.prototype.toggleGroup = function (key) {
    if (this.collapsed.has(key)) this.collapsed.delete(key);
    else this.collapsed.add(key);
    this.computeView();
    this.render(true); // keeps the scroll position and focus
  };

  RunsTable.prototype.updateCount = function () {
    this.countEl.textContent = this.matchCount.toLocaleString() + " of " + plural(this.n, "run", "runs");
  };

  // ------------------------------------------------------------ rows

  RunsTable.prototype.buildCell = function (col, ri, isSticky) {
    var td = h("td", "xs-col-" + col.type);
    if (isSticky) td.classList.add("xs-sticky-col");
    var v = this.raw(col.index, ri);
    if (v === null) {
      td.classList.add("xs-empty");
      return td;
    }
    var text = this.text(col, ri);
    var row = this.rows[ri];
    if (col === this.nameCol) {
      var tick = h("input", "xs-run-select");
      tick.type = "checkbox";
      tick.checked = this.selected.has(row.id);
      tick.setAttribute("data-run-id", row.id);
      tick.setAttribute("aria-label", "Select " + text + " for comparison");
      td.appendChild(tick);
      if (row.url) {
        var a = h("a", "xs-run-link", text);
        a.href = this.siteRoot + row.url;
        td.appendChild(a);
      } else {
        td.textContent = text;
      }
      td.title = text;
      return td;
    }
    switch (col.type) {
      case "number":
      case "duration":
        td.classList.add("xs-num");
        td.textContent = text;
        td.title = col.type === "duration" && typeof v === "number" ? v + " s" : String(v);
        break;
      case "date":
        td.textContent = text;
        td.title = String(v);
        break;
      case "status": {
        var cls = String(v).toLowerCase().replace(/[^a-z0-9_-]/g, "");
        td.appendChild(h("span", "xs-status xs-status-" + cls, text));
        break;
      }
      case "tags": {
        var tags = asTags(v);
        for (var i = 0; i < tags.length; i++) td.appendChild(h("span", "xs-tag", tags[i]));
        if (tags.length) td.title = text;
        break;
      }
      case "bool":
        td.classList.add("xs-bool");
        td.textContent = text;
        break;
      default:
        td.textContent = text;
        td.title = text;
    }
    return td;
  };

  RunsTable.prototype.buildItem = function (idx) {
    var item = this.items[idx];
    var tr;
    if (typeof item === "number") {
      var row = this.rows[item];
      tr = h("tr", "xs-run-row");
      tr.setAttribute("data-run-id", row.id);
      var cols = this.visCols;
      for (var c = 0; c < cols.length; c++) tr.appendChild(this.buildCell(cols[c], item, c === 0 && this.stickyFirst));
      var g = this.itemGroup ? this.itemGroup[idx] : null;
      if (g) tr.setAttribute("data-group-key", g.key);
    } else {
      tr = h("tr", "xs-group-row");
      var th = h("th");
      th.colSpan = this.visCols.length;
      th.scope = "rowgroup";
      var btn = h("button", "xs-group-toggle");
      btn.type = "button";
      btn.setAttribute("aria-expanded", item.collapsed ? "false" : "true");
      btn.setAttribute("data-group-key", item.key);
      var arrow = h("span", "xs-group-arrow", item.collapsed ? "\u25b8" : "\u25be");
      arrow.setAttribute("aria-hidden", "true");
      btn.appendChild(arrow);
      btn.appendChild(document.createTextNode(" " + item.label));
      th.appendChild(btn);
      th.appendChild(document.createTextNode(" "));
      th.appendChild(h("span", "xs-group-count", plural(item.rows.length, "run", "runs")));
      tr.appendChild(th);
    }
    if (idx % 2 === 1) tr.classList.add("xs-alt");
    return tr;
  };

  RunsTable.prototype.schedule = function () {
    var self = this;
    if (this.rafPending) return;
    this.rafPending = true;
    requestAnimationFrame(function () {
      self.rafPending = false;
      self.render(false);
    });
  };

  function focusKey(el, tbody) {
    if (!el || !tbody.contains(el)) return null;
    if (el.classList.contains("xs-group-toggle")) return { group: el.getAttribute("data-group-key") };
    var tr = el.closest("tr.xs-run-row");
    if (!tr) return null;
    return { run: tr.getAttribute("data-run-id"), group: tr.getAttribute("data-group-key") };
  }

  RunsTable.prototype.restoreFocus = function (key) {
    var nodes = this.tbody.querySelectorAll(key.run !== undefined ? "tr.xs-run-row" : "button.xs-group-toggle");
    for (var i = 0; i < nodes.length; i++) {
      var n = nodes[i];
      if (key.run !== undefined) {
        if (n.getAttribute("data-run-id") === key.run && n.getAttribute("data-group-key") === key.group) {
          var a = n.querySelector("a");
          if (a) a.focus({ preventScroll: true });
          return;
        }
      } else if (n.getAttribute("data-group-key") === key.group) {
        n.focus({ preventScroll: true });
        return;
      }
    }
  };

  RunsTable.prototype.spacer = function () {
    var tr = h("tr", "xs-spacer");
    tr.setAttribute("aria-hidden", "true");
    var td = h("td");
    td.colSpan = Math.max(1, this.visCols.length);
    tr.appendChild(td);
    return tr;
  };

  RunsTable.prototype.setSpacer = function (tr, px) {
    tr.hidden = px <= 0;
    tr.firstChild.style.height = px + "px";
  };

  RunsTable.prototype.render = function (force) {
    var n = this.items.length;
    var tbody = this.tbody;
    var scroll = this.scroll;
    // The container shrinks to its content (max-height: 70vh), so while it holds few rows
    // its clientHeight understates how many rows fit: use the window height as a floor.
    var viewH = Math.max(scroll.clientHeight, window.innerHeight || 0, 400);
    var top = scroll.scrollTop;
    var maxTop = Math.max(0, n * ROW_H + ROW_H - viewH);
    if (top > maxTop) top = maxTop;
    var s = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    var e = Math.min(n, Math.ceil((top + viewH) / ROW_H) + OVERSCAN);
    if (s > e) s = e;

    if (force || !this.topSpacer) {
      var fk = focusKey(document.activeElement, tbody);
      tbody.textContent = "";
      this.topSpacer = this.spacer();
      this.bottomSpacer = this.spacer();
      tbody.appendChild(this.topSpacer);
      var frag = document.createDocumentFragment();
      this.rowEls = [];
      for (var i = s; i < e; i++) {
        var tr = this.buildItem(i);
        this.rowEls.push(tr);
        frag.appendChild(tr);
      }
      tbody.appendChild(frag);
      if (n === 0) {
        var empty = h("tr", "xs-empty-row");
        var td = h("td", null, this.n === 0 ? "No runs yet." : "No runs match the filter.");
        td.colSpan = Math.max(1, this.visCols.length);
        empty.appendChild(td);
        tbody.appendChild(empty);
      }
      tbody.appendChild(this.bottomSpacer);
      this.rs = s;
      this.re = e;
      if (fk) this.restoreFocus(fk);
    } else {
      if (s === this.rs && e === this.re) return;
      if (e <= this.rs || s >= this.re) {
        this.render(true);
        return;
      }
      // Trim rows that left the window, then add the ones that entered it.
      while (this.rs < s) { tbody.removeChild(this.rowEls.shift()); this.rs++; }
      while (this.re > e) { tbody.removeChild(this.rowEls.pop()); this.re--; }
      if (s < this.rs) {
        var before = document.createDocumentFragment();
        var added = [];
        for (var j = s; j < this.rs; j++) {
          var trb = this.buildItem(j);
          added.push(trb);
          before.appendChild(trb);
        }
        tbody.insertBefore(before, this.topSpacer.nextSibling);
        this.rowEls = added.concat(this.rowEls);
        this.rs = s;
      }
      if (e > this.re) {
        var after = document.createDocumentFragment();
        for (var k = this.re; k < e; k++) {
          var tra = this.buildItem(k);
          this.rowEls.push(tra);
          after.appendChild(tra);
        }
        tbody.insertBefore(after, this.bottomSpacer);
        this.re = e;
      }
    }
    this.setSpacer(this.topSpacer, s * ROW_H);
    this.setSpacer(this.bottomSpacer, (n - e) * ROW_H);
  };

  // ------------------------------------------------------------ the URL

  function filterFromUrl() {
    var match = /(?:^#|&)q=([^&]*)/.exec(window.location.hash);
    if (!match) return "";
    try {
      return decodeURIComponent(match[1]);
    } catch (e) {
      return "";
    }
  }

  function shareFilterInUrl(text) {
    var url = window.location.pathname + window.location.search + (text ? "#q=" + encodeURIComponent(text) : "");
    try {
      window.history.replaceState(null, "", url);
    } catch (e) {
      /* file:// pages may refuse; the filter still works */
    }
  }

  // ------------------------------------------------------------ boot

  function boot() {
    var roots = document.querySelectorAll(".xs-runs-table");
    for (var i = 0; i < roots.length; i++) {
      var root = roots[i];
      if (root.getAttribute("data-xs-init")) continue;
      root.setAttribute("data-xs-init", "1");
      load(root);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
