/*
 * A model's page (xsite.registry): what changed between two of its versions.
 *
 * Reads <div class="xs-model-diff" data-versions>: one entry per version, newest first,
 * each with flat maps per part of the lineage (code, data, params, metrics, metadata,
 * files). Two menus pick the versions (first the one before the latest, then the latest);
 * the address keeps the pair (#diff=2..5), so a review can link to it. Everything from the
 * data becomes text, never HTML.
 */
(function () {
  "use strict";

  var PARTS = [
    ["code", "Code"],
    ["data", "Data (fingerprints)"],
    ["params", "Params"],
    ["metrics", "Metrics when logged"],
    ["metadata", "Metadata"],
    ["files", "Files (SHA-256)"],
  ];
  var MISSING = "—";

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function show(value) {
    if (value === undefined) return MISSING;
    if (typeof value === "string") return value;
    if (typeof value === "number" && !Number.isInteger(value)) return String(Number(value.toPrecision(4)));
    return JSON.stringify(value);
  }

  // A cell showing a value (4 significant digits) with all its digits on hover.
  function cell(value) {
    var td = el("td", show(value));
    if (typeof value === "number") {
      td.className = "xs-num";
      td.title = String(value);
    }
    return td;
  }

  function same(a, b) {
    return JSON.stringify(a) === JSON.stringify(b);
  }

  function change(a, b) {
    if (typeof a !== "number" || typeof b !== "number") return "";
    var delta = b - a;
    return (delta > 0 ? "+" : "") + Number(delta.toPrecision(4));
  }

  function diff(box, versions) {
    var byNumber = {};
    versions.forEach(function (v) { byNumber[v.version] = v; });
    var menus = [el("select"), el("select")];
    ["From", "To"].forEach(function (label, i) {
      menus[i].id = "xs-model-diff-" + label.toLowerCase();
      versions.forEach(function (v) {
        var option = el("option", "v" + v.version + " (" + v.run + ")");
        option.value = String(v.version);
        menus[i].append(option);
      });
    });
    var controls = el("div", null, "xs-model-diff-controls");
    ["From", "To"].forEach(function (label, i) {
      var text = el("label", label);
      text.htmlFor = menus[i].id;
      controls.append(text, menus[i]);
    });
    var result = el("div", null, "xs-model-diff-result");
    result.setAttribute("aria-live", "polite");
    box.replaceChildren(controls, result);

    function render() {
      var a = byNumber[menus[0].value], b = byNumber[menus[1].value];
      var parts = [];
      PARTS.forEach(function (part) {
        var left = a[part[0]] || {}, right = b[part[0]] || {};
        var keys = Object.keys(Object.assign({}, left, right)).sort();
        var rows = keys.filter(function (k) { return !same(left[k], right[k]); });
        if (!rows.length) return;
        var table = el("table", null, "xs-table xs-model-diff-table");
        var head = el("tr");
        [part[1], "v" + a.version, "v" + b.version].forEach(function (t) {
          var th = el("th", t);
          th.scope = "col";
          head.append(th);
        });
        if (part[0] === "metrics") head.append(el("th", "change"));
        var thead = el("thead");
        thead.append(head);
        var tbody = el("tbody");
        rows.forEach(function (key) {
          var tr = el("tr");
          var th = el("th");
          th.scope = "row";
          th.append(el("bdi", key));
          tr.append(th, cell(left[key]), cell(right[key]));
          if (part[0] === "metrics") tr.append(el("td", change(left[key], right[key]), "xs-num"));
          tbody.append(tr);
        });
        table.append(thead, tbody);
        var wrap = el("div", null, "xs-table-wrap");
        wrap.append(table);
        parts.push(wrap);
      });
      if (!parts.length) {
        parts.push(el("p", a.version === b.version
          ? "The same version twice: pick two."
          : "Nothing differs: same code, data, params, metrics, metadata and files.", "xs-model-diff-same"));
      }
      result.replaceChildren.apply(result, parts);
    }

    function pick() {
      var match = /(?:^|&)diff=(\d+)\.\.(\d+)/.exec(window.location.hash.replace(/^#/, ""));
      if (match && byNumber[match[1]] && byNumber[match[2]]) {
        menus[0].value = match[1];
        menus[1].value = match[2];
      } else {
        menus[0].value = String(versions[1].version);
        menus[1].value = String(versions[0].version);
      }
      render();
    }

    menus.forEach(function (menu) {
      menu.addEventListener("change", function () {
        history.replaceState(null, "", "#diff=" + menus[0].value + ".." + menus[1].value);
        render();
      });
    });
    window.addEventListener("hashchange", function () {
      if (/(?:^|&)diff=/.test(window.location.hash)) pick();
    });
    pick();
  }

  document.querySelectorAll(".xs-model-diff").forEach(function (box) {
    var versions;
    try {
      versions = JSON.parse(box.getAttribute("data-versions") || "[]");
    } catch (e) {
      versions = [];
    }
    if (Array.isArray(versions) && versions.length > 1) diff(box, versions);
  });
})();
