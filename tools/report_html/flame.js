// Interactive flame graph (icicle layout: root at the top) for perf-trace-analyzer reports.
// Data: <script type="application/json" id="flame-data"> {unit, total, prefix, root} where a
// node is {n: name, v: inclusive weight, s: self weight, c: [children]}. No libraries.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("flame-data").textContent);
  var box = document.getElementById("flame");
  var tip = document.getElementById("flame-tip");
  var crumb = document.getElementById("flame-crumb");
  var search = document.getElementById("flame-search");
  var reset = document.getElementById("flame-reset");
  var ROW = 20;
  var MIN_PX = 0.5;
  var nodes = [];
  var zoomed = null;

  function index(node, parent, depth) {
    node.p = parent;
    node.d = depth;
    node.id = nodes.length;
    nodes.push(node);
    (node.c || []).forEach(function (child) { index(child, node, depth + 1); });
  }
  index(data.root, null, 0);

  function shortName(name) {
    var s = name;
    var bang = s.indexOf("!");
    var paren = s.indexOf("(");
    if (bang >= 0 && (paren < 0 || bang < paren)) { s = s.slice(bang + 1); }
    paren = s.indexOf("(");
    if (paren > 0) { s = s.slice(0, paren); }
    var before = null;
    while (before !== s) { before = s; s = s.replace(/\[[^\[\]]*\]/g, ""); }
    var parts = s.split(".");
    return parts.length > 2 ? parts.slice(-2).join(".") : s;
  }

  function category(name) {
    var bare = name.indexOf("!") >= 0 ? name.slice(name.indexOf("!") + 1) : name;
    if (data.prefix && bare.indexOf(data.prefix) === 0) { return "target"; }
    if (/^(System|Microsoft|Internal)\./.test(bare)) { return "runtime"; }
    if (/^(all$|\?|UNMANAGED|CPU_TIME|BLOCKED|Thread \(|Threads|Process|\(Non-)/.test(bare)) {
      return "native";
    }
    return "other";
  }

  function hash(text) {
    var h = 0;
    for (var i = 0; i < text.length; i++) { h = (h * 31 + text.charCodeAt(i)) | 0; }
    return Math.abs(h);
  }

  function colour(name) {
    var h = hash(name);
    var light = 55 + (h % 17);
    switch (category(name)) {
      case "target": return "hsl(" + (14 + (h % 32)) + ", 88%, " + light + "%)";
      case "runtime": return "hsl(" + (195 + (h % 40)) + ", 60%, " + (light + 6) + "%)";
      case "native": return "hsl(220, 8%, " + (68 + (h % 14)) + "%)";
      default: return "hsl(" + (70 + (h % 90)) + ", 50%, " + light + "%)";
    }
  }

  function fmt(value) {
    if (data.unit === "ns") { value = value / 1e6; }
    if (value >= 1000) { return (value / 1000).toFixed(2) + " s"; }
    return value.toFixed(value >= 10 ? 1 : 2) + " ms";
  }

  function pct(value) { return (100 * value / data.total).toFixed(2) + " %"; }

  function render(focus) {
    zoomed = focus;
    box.textContent = "";
    var width = box.clientWidth;
    var maxDepth = 0;
    var frag = document.createDocumentFragment();
    for (var a = focus.p; a; a = a.p) {
      frag.appendChild(frame(a, 0, width, true));
    }
    (function layout(node, x, w) {
      if (w < MIN_PX) { return; }
      maxDepth = Math.max(maxDepth, node.d);
      frag.appendChild(frame(node, x, w, false));
      var cx = x;
      (node.c || []).forEach(function (child) {
        var cw = w * child.v / node.v;
        layout(child, cx, cw);
        cx += cw;
      });
    })(focus, 0, width);
    box.style.height = (maxDepth + 1) * ROW + "px";
    box.appendChild(frag);
    crumb.textContent = focus.p ? "Zoomed into " + shortName(focus.n) + " (" + pct(focus.v) +
      " of all samples). Click a frame above it or Reset to zoom out." :
      "Click a frame to zoom in; hover for self and inclusive time.";
    applySearch();
  }

  function frame(node, x, w, ancestor) {
    var el = document.createElement("div");
    el.className = "frame" + (ancestor ? " ancestor" : "") + (node === zoomed ? " focus" : "");
    el.style.left = x + "px";
    el.style.width = Math.max(w - 1, 0.5) + "px";
    el.style.top = node.d * ROW + "px";
    el.style.background = colour(node.n);
    el.dataset.id = node.id;
    el.dataset.name = node.n;
    el.dataset.category = category(node.n);
    if (w > 36) { el.textContent = shortName(node.n); }
    return el;
  }

  function tooltip(node, ev) {
    tip.textContent = "";
    var title = document.createElement("div");
    title.className = "tip-name";
    title.textContent = node.n;
    var rows = [["Inclusive", fmt(node.v) + " (" + pct(node.v) + ")"],
                ["Self", fmt(node.s) + " (" + pct(node.s) + ")"],
                ["Depth", String(node.d)]];
    tip.appendChild(title);
    rows.forEach(function (r) {
      var line = document.createElement("div");
      line.innerHTML = "<b></b> <span></span>";
      line.firstChild.textContent = r[0] + ":";
      line.lastChild.textContent = r[1];
      tip.appendChild(line);
    });
    tip.style.display = "block";
    var left = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    tip.style.left = left + "px";
    tip.style.top = (ev.clientY + 16) + "px";
  }

  function applySearch() {
    var term = (search.value || "").toLowerCase();
    var matched = 0;
    var counted = {};
    box.querySelectorAll(".frame").forEach(function (el) {
      var hit = term && el.dataset.name.toLowerCase().indexOf(term) >= 0;
      el.classList.toggle("match", !!hit);
    });
    if (term) {
      nodes.forEach(function (n) {
        if (n.n.toLowerCase().indexOf(term) < 0) { return; }
        for (var a = n.p; a; a = a.p) { if (counted[a.id]) { return; } }
        counted[n.id] = true;
        matched += n.v;
      });
      document.getElementById("flame-matched").textContent = "Matched: " + pct(matched);
    } else {
      document.getElementById("flame-matched").textContent = "";
    }
  }

  box.addEventListener("click", function (ev) {
    var el = ev.target.closest(".frame");
    if (el) { render(nodes[Number(el.dataset.id)]); }
  });
  box.addEventListener("mousemove", function (ev) {
    var el = ev.target.closest(".frame");
    if (el) { tooltip(nodes[Number(el.dataset.id)], ev); } else { tip.style.display = "none"; }
  });
  box.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  reset.addEventListener("click", function () { render(data.root); });
  search.addEventListener("input", applySearch);
  window.addEventListener("resize", function () { render(zoomed || data.root); });
  window.ptaFlame = { zoom: function (id) { render(nodes[id]); }, nodes: nodes };
  render(data.root);
})();
