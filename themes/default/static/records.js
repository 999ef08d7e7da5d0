/*
 * Logged records on a run page: sortable tables, charts drawn with the site's Vega
 * (window.vegaEmbed, assets/vega.js), and image galleries with a step slider.
 */
(function () {
  "use strict";

  function sortable(table) {
    table.querySelectorAll("th .xs-sort").forEach(function (button, column) {
      button.addEventListener("click", function () {
        var descending = button.getAttribute("aria-sort") === "ascending";
        table.querySelectorAll(".xs-sort").forEach(function (b) { b.removeAttribute("aria-sort"); });
        button.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column], y = b.cells[column];
          var order = x.dataset.value !== undefined && y.dataset.value !== undefined
            ? Number(x.dataset.value) - Number(y.dataset.value)
            : x.textContent.localeCompare(y.textContent);
          return descending ? -order : order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  function chart(figure) {
    var view = figure.querySelector(".xs-logged-chart-view");
    fetch(figure.dataset.spec)
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (spec) {
        // Drawn by the site's own Vega-Lite, whatever version the spec was written for
        // (Altair writes v5): the version check would only warn.
        delete spec.$schema;
        return window.vegaEmbed(view, spec, { actions: false, renderer: "svg" });
      })
      .catch(function (error) {
        view.textContent = "This chart could not be drawn: " + error.message;
        view.classList.add("xs-empty");
      });
  }

  function gallery(figure) {
    var slider = figure.querySelector(".xs-gallery-slider");
    if (!slider) return;
    var images = figure.querySelectorAll("img");
    var shown = figure.querySelector(".xs-gallery-step");
    slider.addEventListener("input", function () {
      images.forEach(function (image, index) { image.hidden = index !== Number(slider.value); });
      shown.textContent = images[Number(slider.value)].dataset.step;
    });
  }

  document.querySelectorAll(".xs-logged-table").forEach(sortable);
  document.querySelectorAll(".xs-logged-chart").forEach(chart);
  document.querySelectorAll(".xs-gallery").forEach(gallery);
})();
