// The schedule page's Gantt chart (plotly.js). Data comes one time window at a time from /schedule/data.json
// (see opencdmo/web/gantt.py for the format); zooming or panning out of the loaded window asks for the next.
"use strict";

(function () {
  var chart = document.getElementById("gantt");
  if (!chart || !window.Plotly) {
    return;
  }
  var statusLine = document.getElementById("gantt-status");
  var MINUTE = 60000;
  var DAY = 1440; // minutes
  var state = { data: null, t0: 0, loading: false, queued: null, view: null, drawing: false };

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function ms(minutes) {
    return state.t0 + minutes * MINUTE;
  }

  function stamp(minutes) {
    return new Date(ms(minutes)).toISOString().slice(0, 16).replace("T", " ");
  }

  function minutesOf(value) {
    // plotly gives date ranges as "2027-01-03 05:12:33.1234" (UTC), or as milliseconds.
    var time = typeof value === "number" ? value : Date.parse(String(value).replace(" ", "T").slice(0, 23) + "Z");
    return Math.round((time - state.t0) / MINUTE);
  }

  function say(text) {
    if (statusLine) {
      statusLine.textContent = text;
    }
  }

  function hover(data, i) {
    var bars = data.bars;
    var group = data.groups[bars.group[i]].name;
    var when = stamp(bars.start[i]) + " → " + stamp(bars.end[i]) + " UTC";
    if (bars.count[i] > 1) {
      return "<b>" + bars.count[i] + " operations</b> · " + escapeHtml(group) + "<br>" + when +
        (bars.late[i] ? "<br><b>some late</b>" : "") + "<br><i>click to zoom in</i>";
    }
    var suite = data.suites[bars.suite[i]];
    var where = "suite " + escapeHtml(suite[0]) + (suite[1] ? " (" + escapeHtml(suite[1]) + ")" : "");
    if (bars.lot[i] < 0) {
      return "<b>cleaning</b><br>" + where + "<br>" + when;
    }
    var lot = data.lots[bars.lot[i]];
    var order = data.orders[lot[1]];
    var lines = [
      "<b>" + escapeHtml(lot[0]) + "</b> · " + escapeHtml(data.steps[bars.step[i]]),
      "order " + escapeHtml(order[0]) + " · " + escapeHtml(group),
      where,
      when,
    ];
    if (order[1] !== null) {
      lines.push("due " + stamp(order[1]) + " UTC" + (bars.late[i] ? " — <b>LATE</b>" : ""));
    }
    return lines.join("<br>");
  }

  function barTraces(data) {
    var bars = data.bars;
    var perGroup = data.groups.map(function (group) {
      return { name: group.name, colour: group.colour, base: [], x: [], y: [], text: [], custom: [], edge: [], width: [] };
    });
    for (var i = 0; i < bars.row.length; i++) {
      var trace = perGroup[bars.group[i]];
      trace.base.push(ms(bars.start[i]));
      trace.x.push((bars.end[i] - bars.start[i]) * MINUTE);
      trace.y.push(data.rows[bars.row[i]]);
      trace.text.push(hover(data, i));
      trace.custom.push(bars.lot[i] >= 0 ? data.lots[bars.lot[i]][0] : [bars.start[i], bars.end[i]]);
      trace.edge.push(bars.late[i] ? data.late_colour : "rgba(0,0,0,0.25)");
      trace.width.push(bars.late[i] ? 2.5 : 0.5);
    }
    return perGroup
      .filter(function (trace) { return trace.x.length > 0; })
      .map(function (trace) {
        var marker = { color: trace.colour, line: { color: trace.edge, width: trace.width } };
        if (trace.name === "cleaning") {
          marker.pattern = { shape: "/", fgcolor: "#7a7a7a", size: 6 };
        }
        return {
          type: "bar", orientation: "h", name: trace.name, base: trace.base, x: trace.x, y: trace.y,
          hovertext: trace.text, hoverinfo: "text", customdata: trace.custom, marker: marker,
        };
      });
  }

  function loadTraces(data) {
    var load = data.load;
    var half = load.column_minutes / 2;
    return [{
      type: "heatmap", name: "load", y: data.rows,
      x: load.column_start.map(function (start) { return ms(start + half); }),
      z: load.busy, customdata: load.cleaning, zmin: 0, zmax: 100,
      colorscale: [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]],
      colorbar: { title: { text: "busy %" }, thickness: 12 },
      hovertemplate: "%{y}<br>%{x|%Y-%m-%d}<br>busy %{z} %<br>cleaning %{customdata} %<extra></extra>",
    }];
  }

  function rowsTrace(data) {
    // An invisible point per row keeps every row on the axis, with or without bars in the window.
    return {
      type: "scatter", mode: "markers", y: data.rows, x: data.rows.map(function () { return ms(data.window.start); }),
      marker: { opacity: 0 }, hoverinfo: "skip", showlegend: false,
    };
  }

  function draw(data, range) {
    var rowHeight = data.rows.length > 300 ? 14 : 20;
    var tickSize = rowHeight > 14 ? 11 : 9;
    // A left margin fitted to the longest row label: plotly's automargin would draw the chart twice.
    var longest = data.rows.reduce(function (most, row) { return Math.max(most, String(row).length); }, 0);
    var layout = {
      barmode: "overlay",
      height: Math.max(420, data.rows.length * rowHeight + 130),
      margin: { l: Math.min(300, 14 + Math.ceil(longest * tickSize * 0.62)), r: 10, t: 30, b: 40 },
      xaxis: { type: "date", range: [ms(range[0]), ms(range[1])], side: "top", gridcolor: "#eef1f4" },
      yaxis: {
        type: "category", categoryorder: "array", categoryarray: data.rows, range: [data.rows.length - 0.5, -0.5],
        automargin: false, tickfont: { size: tickSize },
      },
      legend: { title: { text: data.mode === "load" ? "" : "sponsor" } },
      hoverlabel: { align: "left" },
      plot_bgcolor: "#ffffff",
      paper_bgcolor: "#ffffff",
    };
    var traces = data.mode === "load" ? loadTraces(data) : barTraces(data);
    traces.push(rowsTrace(data));
    var config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
    state.drawing = true;
    return window.Plotly.react(chart, traces, layout, config).then(function () {
      state.drawing = false;
      state.view = range;
      describe(data, range);
      // For tests and the browser benchmark: the chart is drawn (data-draws counts the drawings).
      chart.dataset.mode = data.mode;
      chart.dataset.draws = String(Number(chart.dataset.draws || "0") + 1);
      chart.dataset.ready = "true";
    });
  }

  function describe(data, range) {
    var text = "plan v" + data.version + " · " + stamp(range[0]).slice(0, 10) + " → " + stamp(range[1]).slice(0, 10) +
      " · " + data.operations.toLocaleString() + " operations loaded";
    if (data.mode === "merged") {
      text += " · nearby operations merged: zoom in to see each";
    } else if (data.mode === "load") {
      text += " · share of time busy per suite: zoom in to a quarter or less to see operations";
    }
    say(text);
  }

  function load(range) {
    if (state.loading) {
      state.queued = range;
      return;
    }
    state.loading = true;
    say("loading…");
    var query = "by=" + encodeURIComponent(chart.dataset.by);
    if (range) {
      var padding = Math.round((range[1] - range[0]) / 8);
      query += "&start=" + encodeURIComponent(new Date(ms(range[0] - padding)).toISOString()) +
        "&end=" + encodeURIComponent(new Date(ms(range[1] + padding)).toISOString());
    }
    fetch(chart.dataset.source + "?" + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) {
          window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
          throw new Error("signed out");
        }
        return response.json().then(function (body) {
          if (!response.ok) {
            throw new Error(body.detail || response.statusText);
          }
          return body;
        });
      })
      .then(function (data) {
        var first = !state.data;
        state.t0 = Date.parse(data.t0);
        state.data = data;
        return draw(data, range || [data.window.start, data.window.end]).then(function () {
          if (first) {
            listen();
          }
        });
      })
      .catch(function (error) {
        say("could not load the plan: " + error.message);
      })
      .then(function () {
        state.loading = false;
        if (state.queued) {
          var next = state.queued;
          state.queued = null;
          ensure(next);
        }
      });
  }

  function ensure(range) {
    var data = state.data;
    if (!data) {
      load(range);
      return;
    }
    var loaded = data.window;
    var outside = range[0] < loaded.start || range[1] > loaded.end;
    var finer = data.mode !== "operations" && range[1] - range[0] < (loaded.end - loaded.start) / 3;
    if (outside || finer) {
      load(range);
    } else {
      state.view = range;
      describe(data, range);
    }
  }

  function zoomTo(range) {
    window.Plotly.relayout(chart, { "xaxis.range": [ms(range[0]), ms(range[1])] });
  }

  function listen() {
    chart.on("plotly_relayout", function (event) {
      if (state.drawing || !state.data) {
        return;
      }
      var range = event["xaxis.range"];
      var start = range ? range[0] : event["xaxis.range[0]"];
      var end = range ? range[1] : event["xaxis.range[1]"];
      if (event["xaxis.autorange"]) {
        zoomTo([state.data.plan.start, state.data.plan.end]);
        return;
      }
      if (start !== undefined && end !== undefined) {
        ensure([minutesOf(start), minutesOf(end)]);
      }
    });
    chart.on("plotly_click", function (event) {
      var point = event.points && event.points[0];
      if (!point) {
        return;
      }
      var target = point.customdata;
      if (typeof target === "string" && target) {
        window.location.href = "/batches/" + encodeURIComponent(target);
      } else if (Array.isArray(target) && target.length === 2 && typeof target[0] === "number") {
        var margin = Math.max(60, Math.round((target[1] - target[0]) / 10));
        zoomTo([target[0] - margin, target[1] + margin]);
      } else if (state.data && state.data.mode === "load") {
        var centre = minutesOf(point.x);
        zoomTo([centre - 15 * DAY, centre + 16 * DAY]);
      }
    });
  }

  document.querySelectorAll("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!state.data || !state.view) {
        return;
      }
      var days = button.getAttribute("data-zoom");
      if (days === "all") {
        zoomTo([state.data.plan.start, state.data.plan.end]);
      } else {
        zoomTo([state.view[0], state.view[0] + Number(days) * DAY]);
      }
    });
  });
  document.querySelectorAll("[data-pan]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!state.view) {
        return;
      }
      var shift = Number(button.getAttribute("data-pan")) * Math.round((state.view[1] - state.view[0]) * 0.8);
      zoomTo([state.view[0] + shift, state.view[1] + shift]);
    });
  });

  load(null);
})();
