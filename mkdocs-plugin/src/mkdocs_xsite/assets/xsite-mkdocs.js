/* xsite blocks in MkDocs pages: loads the experiments site's chart scripts when a page
 * has a chart, and mounts its charts, also after Material's instant navigation.
 *
 * The chart spec's URL (data-spec of each chart block) points into the experiments site;
 * its assets/ folder holds vega.js, charts.js and charts.css, loaded once per page load.
 */
(function () {
  "use strict";

  let loading = null;

  function load(tag, url) {
    return new Promise((resolve, reject) => {
      const element = document.createElement(tag);
      if (tag === "script") element.src = url;
      else Object.assign(element, { rel: "stylesheet", href: url });
      element.onload = resolve;
      element.onerror = () => reject(new Error("could not load " + url));
      document.head.append(element);
    });
  }

  function assetsOf(section) {
    return new URL(".", new URL(section.getAttribute("data-spec"), document.baseURI)).href;
  }

  function mountAll() {
    const sections = Array.from(document.querySelectorAll(".xsite-embed section.xs-charts"));
    if (!sections.length) return;
    if (!loading) {
      const assets = assetsOf(sections[0]);
      loading = Promise.all([
        load("link", assets + "charts.css"),
        load("script", assets + "vega.js").then(() => load("script", assets + "charts.js")),
      ]);
    }
    loading
      .then(() => sections.forEach((section) => window.xsite.charts.mount(section)))
      .catch((error) => {
        for (const section of sections) {
          const note = document.createElement("p");
          note.className = "xs-block-error";
          note.textContent = "The chart could not be drawn: " + error.message;
          section.append(note);
        }
      });
  }

  // Material for MkDocs swaps pages in place with navigation.instant: follow it.
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(mountAll);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mountAll);
  } else {
    mountAll();
  }
})();
