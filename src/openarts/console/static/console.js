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

  function two(n) { return (n < 10 ? "0" : "") + n; }

  // Every time on a chart is UTC on a 24-hour clock, as the tables' exact times are.
  function utcClock(seconds, withSeconds) {
    const d = new Date(seconds * 1000);
    return two(d.getUTCHours()) + ":" + two(d.getUTCMinutes()) +
      (withSeconds ? ":" + two(d.getUTCSeconds()) : "");
  }

  function utcFull(seconds) {
    const d = new Date(seconds * 1000);
    return d.getUTCFullYear() + "-" + two(d.getUTCMonth() + 1) + "-" + two(d.getUTCDate()) +
      " " + utcClock(seconds, true) + " UTC";
  }

  function drawable(values) {
    let seen = 0;
    values.forEach(function (v) { if (v !== null && v !== undefined) { seen += 1; } });
    return seen >= 2;
  }

  function drawChart(el, data) {
    // data: {"x": [epoch seconds...], "unit": "%", "series": [{"label": "...",
    // "values": [...]}], "empty": what to say when there is no line to draw}
    const old = charts.get(el);
    if (old) { old.destroy(); charts.delete(el); }
    el.textContent = "";
    // A line needs two values: with fewer, the server's words say why there are none.
    if (!data.x || data.x.length < 2 || !data.series.some(function (s) { return drawable(s.values); })) {
      const said = document.createElement("p");
      said.className = "chart-empty";
      said.textContent = data.empty || "No samples yet.";
      el.appendChild(said);
      return;
    }
    const unit = data.unit || "";
    const opts = {
      width: Math.max(300, (el.clientWidth || 560) - 10),
      height: 220,
      // Room on the right for the last time label, which is centred on its tick.
      padding: [12, 28, 0, 0],
      // Ticks and the legend's time in UTC: uPlot places its ticks on whole UTC minutes
      // and hours rather than on the browser's local ones.
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      series: [{
        label: "Time (UTC)",
        value: function (u, v) { return v === null ? "—" : utcFull(v); },
      }].concat(data.series.map(function (s, i) {
        return {
          label: s.label,
          stroke: ["#1f5fbf", "#b35900", "#2b7a2b", "#7a2b7a"][i % 4],
          dash: i % 2 ? [6, 3] : undefined,
          width: 2,
          spanGaps: false,
          value: function (u, v) {
            return v === null || v === undefined ? "—" : (Math.round(v * 10) / 10) + " " + unit;
          },
        };
      })),
      axes: [
        {
          label: "UTC",
          labelSize: 20,
          // At least this many pixels between two ticks: their labels never overlap.
          space: 80,
          values: function (u, splits, axisIdx, space, incr) {
            const labels = splits.map(function (s) {
              if (incr >= 86400) { return utcFull(s).slice(0, 10); }
              return utcClock(s, incr < 60);
            });
            // The canvas holds no text anyone else can read: the labels drawn, kept here.
            el.dataset.xTicks = labels.join(" ");
            return labels;
          },
        },
        {
          label: unit,
          labelSize: 20,
          space: 30,
          values: function (u, splits) {
            return splits.map(function (v) { return v === null ? "" : String(Math.round(v * 100) / 100); });
          },
        },
      ],
    };
    const rows = [data.x].concat(data.series.map(function (s) { return s.values; }));
    charts.set(el, new uPlot(opts, rows, el));
  }

  // Relative times ("3 min ago"); the exact UTC time is the element's title. The same
  // words as rendering.relative on the server: keep both alike.
  function relativeText(ms, now) {
    let seconds = (now - ms) / 1000;
    const ahead = seconds < 0;
    seconds = Math.abs(seconds);
    if (seconds < 60) { return ahead ? "in under a minute" : "just now"; }
    const sizes = [[86400, "days"], [3600, "h"], [60, "min"]];
    for (let i = 0; i < sizes.length; i += 1) {
      const size = sizes[i][0];
      const unit = sizes[i][1];
      if (seconds >= size) {
        const count = Math.floor(seconds / size);
        if (unit === "days" && count > 60) { return new Date(ms).toISOString().slice(0, 10); }
        const word = unit === "days" && count === 1 ? "day" : unit;
        return ahead ? "in " + count + " " + word : count + " " + word + " ago";
      }
    }
    return "";
  }

  function refreshTimes(root) {
    const now = Date.now();
    (root || document).querySelectorAll("time[data-ts]").forEach(function (el) {
      const text = relativeText(Number(el.dataset.ts), now);
      if (text && el.textContent !== text) { el.textContent = text; }
    });
  }

  // A form's parts that belong to one choice (data-show-if="source=code") show only while
  // that choice is made; the server renders the first state, this follows the changes.
  function showChosen(form) {
    form.querySelectorAll("[data-show-if]").forEach(function (el) {
      const wanted = el.dataset.showIf.split("=");
      const field = form.elements.namedItem(wanted[0]);
      if (!field) { return; }
      el.hidden = field.value !== wanted[1];
    });
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
      refreshTimes(el);
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
  // Relative times grow older while the page stays open.
  window.setInterval(function () { if (!document.hidden) { refreshTimes(document); } }, 20000);
  document.addEventListener("change", function (e) {
    if (e.target && e.target.form) { showChosen(e.target.form); }
  });
  function showAllChosen() {
    document.querySelectorAll("form").forEach(showChosen);
    refreshTimes(document);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", showAllChosen);
  } else {
    showAllChosen();
  }
})();
