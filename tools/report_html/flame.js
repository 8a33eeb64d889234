// The flame views of a perf-trace-analyzer report: top-down, bottom-up (inverted) and
// sandwich, with zoom, hover, search and links from the tables. Uses ptaFlameModel (the data)
// and ptaFlameDraw (the drawing); no libraries, nothing from the network.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("flame-data").textContent);
  var model = ptaFlameModel.create(data);
  var draw = ptaFlameDraw;
  var $ = function (id) { return document.getElementById(id); };
  var box = $("flame"), tip = $("flame-tip"), crumb = $("flame-crumb"), search = $("flame-search");
  var DESCRIPTION = {
    "top-down": "Top-down (callers first): one block per distinct call path, widest first.",
    "bottom-up": "Bottom-up (inverted): the first row is each method's self time merged " +
      "over all its call paths, widest first; its callers are below it.",
    "sandwich": "Sandwich: the selected method in the middle, its callers merged above it, " +
      "its callees merged below."
  };
  var roots = { "top-down": model.topDown(), "bottom-up": model.bottomUp() };
  var state = {
    view: data.initial.view,
    focus: { "top-down": roots["top-down"], "bottom-up": roots["bottom-up"] },
    method: model.frameOf(data.initial.method || ""),
    selected: -1,
    items: []
  };
  var sandwiches = new Map();

  function fmt(value) {
    if (data.unit === "ns") { value = value / 1e6; }
    if (value >= 1000) { return (value / 1000).toFixed(2) + " s"; }
    return value.toFixed(value >= 10 ? 1 : 2) + " ms";
  }
  function pct(value) { return (100 * value / model.total).toFixed(2) + " %"; }
  function both(value) { return fmt(value) + " (" + pct(value) + ")"; }
  function nameOf(f) { return f < 0 ? "all" : model.names[f]; }

  function render() {
    tip.style.display = "none";
    if (state.view === "sandwich") {
      if (state.method < 0) { state.view = "top-down"; return render(); }
      if (!sandwiches.has(state.method)) {
        sandwiches.set(state.method, model.sandwich(state.method));
      }
      state.items = draw.sandwich(box, sandwiches.get(state.method), model.names, data.prefix);
      var f = state.method;
      crumb.textContent = "Sandwich of " + draw.shortName(nameOf(f)) + ": self " +
        both(model.selfOf(f)) + ", inclusive " + both(model.inclusiveOf(f)) +
        " of all samples. Its callers are merged above it, its callees below" +
        (model.selfOf(f) >= model.inclusiveOf(f) ? " (it calls nothing: all its time is self " +
        "time)" : "") + "; click one to centre the sandwich on it.";
    } else {
      var focus = state.focus[state.view];
      state.items = draw.tree(box, focus, model.names, data.prefix);
      crumb.textContent = focus.p ? "Zoomed into " + draw.shortName(nameOf(focus.f)) + " (" +
        pct(focus.v) + " of all samples). Click a frame above it, Reset or Esc to zoom out." :
        "Click a frame to zoom in, double-click it for its sandwich; hover for its times.";
    }
    document.querySelectorAll(".flame-tab").forEach(function (tab) {
      tab.setAttribute("aria-selected", String(tab.dataset.view === state.view));
    });
    $("flame-view").textContent = "Showing: " + DESCRIPTION[state.view];
    var pick = state.view === "sandwich" ? state.method : state.selected;
    $("flame-sandwich").disabled = pick < 0 || state.view === "sandwich";
    $("flame-sandwich").textContent = pick < 0 ? "Sandwich" : "Sandwich: " +
      draw.shortName(nameOf(pick));
    applySearch();
  }

  function show(view) {
    state.view = view;
    render();
  }

  function openSandwich(f) {
    state.method = f;
    show("sandwich");
  }

  function tooltip(item, ev) {
    var node = item.node;
    var rows = [];
    if (item.narrow) {
      rows.push(["Together", both(node.v)]);
    } else if (item.role === "caller") {
      rows.push(["Calls into " + draw.shortName(nameOf(state.method)), both(node.v)]);
    } else if (state.view === "bottom-up" && node.d > 1) {
      rows.push(["Self time of " + draw.shortName(nameOf(leafOf(node))) + " via this path",
        both(node.v)]);
    } else {
      rows.push([state.view === "bottom-up" && node.d === 1 ? "Self" : "Inclusive",
        both(node.v)]);
      if (node.d > 0 && state.view !== "bottom-up") { rows.push(["Self", both(node.s)]); }
    }
    if (node.f >= 0) {
      rows.push(["Method total", "self " + pct(model.selfOf(node.f)) + ", inclusive " +
        pct(model.inclusiveOf(node.f))]);
    }
    tip.textContent = "";
    var title = document.createElement("div");
    title.className = "tip-name";
    title.textContent = node.label || nameOf(node.f);
    tip.appendChild(title);
    rows.forEach(function (r) {
      var line = document.createElement("div");
      var label = document.createElement("b");
      label.textContent = r[0] + ": ";
      line.appendChild(label);
      line.appendChild(document.createTextNode(r[1]));
      tip.appendChild(line);
    });
    tip.style.display = "block";
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + "px";
    tip.style.top = (ev.clientY + 16) + "px";
  }

  function leafOf(node) {
    while (node.p && node.p.p) { node = node.p; }
    return node.f;
  }

  function applySearch() {
    var term = (search.value || "").trim().toLowerCase();
    box.querySelectorAll(".frame").forEach(function (el) {
      el.classList.toggle("match", !!term && el.dataset.name.toLowerCase().indexOf(term) >= 0);
    });
    var out = $("flame-matched");
    if (!term) { out.textContent = ""; return; }
    var result = model.matchShare(term);
    out.textContent = "Matched: " + (100 * result.share).toFixed(2) + " % of samples pass " +
      "through " + result.methods + " matching method" + (result.methods === 1 ? "" : "s") +
      (model.elided > 0 ? " (at least: outer callers of narrow stacks are elided)" : "");
  }

  function itemAt(ev) {
    var el = ev.target.closest(".frame");
    return el ? state.items[Number(el.dataset.i)] : null;
  }

  box.addEventListener("click", function (ev) {
    var item = itemAt(ev);
    if (!item) { return; }
    // The first click of a double-click zoomed and redrew, so the second lands on a new
    // element and no dblclick event comes: the click count tells it, and the first click
    // chose the method.
    if (ev.detail >= 2 && state.selected >= 0 && state.view !== "sandwich") {
      openSandwich(state.selected);
      return;
    }
    if (state.view === "sandwich") {
      if (item.role !== "selected" && item.node.f >= 0) { openSandwich(item.node.f); }
      return;
    }
    if (item.narrow) {
      state.focus[state.view] = item.node.p;
      render();
      return;
    }
    state.focus[state.view] = item.node;
    state.selected = item.node.f;
    render();
  });
  box.addEventListener("mousemove", function (ev) {
    var item = itemAt(ev);
    if (item) { tooltip(item, ev); } else { tip.style.display = "none"; }
  });
  box.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  document.querySelectorAll(".flame-tab").forEach(function (tab) {
    tab.addEventListener("click", function () { show(tab.dataset.view); });
  });
  $("flame-sandwich").addEventListener("click", function () { openSandwich(state.selected); });
  $("flame-reset").addEventListener("click", resetZoom);
  search.addEventListener("input", applySearch);
  window.addEventListener("resize", render);

  function resetZoom() {
    if (state.view !== "sandwich") { state.focus[state.view] = roots[state.view]; }
    render();
  }

  document.addEventListener("keydown", function (ev) {
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(ev.target.tagName);
    if (ev.key === "/" && !typing) {
      ev.preventDefault();
      search.focus();
      search.select();
    } else if (ev.key === "Escape") {
      if (typing) { ev.target.blur(); }
      resetZoom();
    }
  });

  // Method names in the tables open their sandwich; names without CPU samples say so.
  document.querySelectorAll("a.method").forEach(function (link) {
    if (model.frameOf(link.dataset.method) < 0) {
      link.classList.add("absent");
      link.title = "No CPU samples in this method: it has no sandwich";
    }
  });
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest("a.method");
    if (!link) { return; }
    ev.preventDefault();
    var f = model.frameOf(link.dataset.method);
    if (f < 0) { return; }
    openSandwich(f);
    $("flame-section").scrollIntoView();
  });

  window.ptaFlame = { model: model, show: show, sandwich: openSandwich, state: state };
  render();
})();
