// The console's live parts. An element with data-live="<url>" follows one server-sent
// event stream (one a page: a browser opens only six connections to a host); each event
// is named after a part, and goes to the element inside it with that data-part. Streams
// are closed while the page is hidden (no polling for a tab nobody looks at) and opened
// again when it is shown, including when it comes back from the back/forward cache.
(function () {
  "use strict";
  const sources = new Map();
  const charts = new Map();
  const STOPPED = "Live updates stopped — reload the page.";
  // States after which a stream is not opened again: nothing more will come.
  const DONE = ["ended", "gone"];

  function note(text) {
    const el = document.getElementById("live-note");
    if (!el) { return; }
    el.textContent = text;
    el.hidden = !text;
  }

  function atBottom(el) {
    return el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
  }

  function drawChart(el, data) {
    // data: {"x": [epoch seconds...], "series": [{"label": "...", "values": [...]}]}
    const old = charts.get(el);
    if (old) { old.destroy(); charts.delete(el); }
    el.textContent = "";
    const blank = !data.x || data.x.length < 2 ||
      data.series.every(function (s) { return s.values.every(function (v) { return v === null; }); });
    if (blank) {
      el.textContent = data.empty || "No samples yet.";
      return;
    }
    const opts = {
      width: Math.max(300, el.clientWidth || 560),
      height: 200,
      title: data.title || "",
      series: [{}].concat(data.series.map(function (s, i) {
        return { label: s.label, stroke: ["#1f5fbf", "#b35900", "#2b7a2b", "#7a2b7a"][i % 4],
                 dash: i % 2 ? [6, 3] : undefined, width: 2 };
      })),
      axes: [{}, { label: data.unit || "" }],
    };
    const rows = [data.x].concat(data.series.map(function (s) { return s.values; }));
    charts.set(el, new uPlot(opts, rows, el));
  }

  function apply(el, text) {
    const mode = el.dataset.liveMode || "html";
    if (mode === "text") {
      const follow = atBottom(el);
      el.textContent = text;
      if (follow) { el.scrollTop = el.scrollHeight; }
    } else if (mode === "chart") {
      let data = null;
      try { data = JSON.parse(text); } catch (e) { data = null; }
      // Not chart data: a message, shown as text (never parsed as HTML).
      if (data && typeof data === "object") { drawChart(el, data); } else { el.textContent = text; }
    } else {
      // Server-rendered, escaped HTML of the console's own templates.
      el.innerHTML = text;
      if (window.htmx) { window.htmx.process(el); }
    }
  }

  function partsOf(root) {
    const found = Array.prototype.slice.call(root.querySelectorAll("[data-part]"));
    if (root.dataset.part) { found.unshift(root); }
    return found;
  }

  function setState(root, state) {
    root.dataset.liveState = state;
    partsOf(root).forEach(function (el) { el.dataset.liveState = state; });
  }

  function stop(root, source, state, message) {
    source.close();
    sources.delete(root);
    setState(root, state);
    if (message) { note(message); }
  }

  function open(root) {
    const source = new EventSource(root.dataset.live);
    setState(root, "connecting");
    source.onopen = function () {
      setState(root, "open");
      if (document.getElementById("live-note") &&
          document.getElementById("live-note").textContent === STOPPED) { note(""); }
    };
    partsOf(root).forEach(function (el) {
      source.addEventListener(el.dataset.part, function (e) { apply(el, e.data); });
    });
    source.addEventListener("note", function (e) { note(e.data); });
    source.addEventListener("expired", function () {
      stop(root, source, "ended", "");
      window.location.href = "/console/login?expired=1";
    });
    source.addEventListener("gone", function (e) { stop(root, source, "gone", e.data); });
    source.addEventListener("end", function () { stop(root, source, "ended", ""); });
    source.onerror = function () {
      // CONNECTING: the browser tries again by itself. CLOSED: it gave up (the answer was
      // not a stream: a sign-in page, a 404): say so instead of showing stale data.
      if (source.readyState === EventSource.CLOSED) {
        stop(root, source, "failed", STOPPED);
      } else {
        setState(root, "connecting");
      }
    };
    sources.set(root, source);
  }

  function openAll() {
    document.querySelectorAll("[data-live]").forEach(function (root) {
      if (!sources.has(root) && DONE.indexOf(root.dataset.liveState) < 0) { open(root); }
    });
  }

  function closeAll() {
    sources.forEach(function (source, root) {
      source.close();
      setState(root, "paused");
    });
    sources.clear();
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { closeAll(); } else { openAll(); }
  });
  window.addEventListener("pagehide", closeAll);
  // A form that leaves the page (signing out, say): its streams close at once, before the
  // answer arrives, so that none of them reports the session it ended as expired. (htmx
  // forms stay on the page: htmx has prevented their default by the time this runs.)
  document.addEventListener("submit", function (e) { if (!e.defaultPrevented) { closeAll(); } });
  // Back/forward cache: the page comes back as it was left, with its streams closed.
  window.addEventListener("pageshow", function (e) { if (e.persisted) { openAll(); } });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", openAll);
  } else {
    openAll();
  }
  // Elements that htmx adds later (a swapped fragment) may carry streams of their own.
  document.addEventListener("htmx:afterSettle", openAll);
})();
