// Drawing for perf-trace-analyzer flame views: lays a view tree out in rows and draws only the
// frames at least a pixel wide (narrower ones are never expanded, so a view of millions of
// samples costs what fits on screen). Frames are absolutely placed divs in the #flame box.
var ptaFlameDraw = (function () {
  "use strict";
  var ROW = 20;
  var MIN_PX = 1;
  var LABEL_PX = 36;

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

  function category(name, prefix) {
    var bare = name.indexOf("!") >= 0 ? name.slice(name.indexOf("!") + 1) : name;
    if (prefix && bare.indexOf(prefix) === 0) { return "target"; }
    if (/^(System|Microsoft|Internal)\./.test(bare)) { return "runtime"; }
    if (/^(all$|\?|\(|UNMANAGED|CPU_TIME|BLOCKED|Thread \(|Threads|Process)/.test(bare)) {
      return "native";
    }
    return "other";
  }

  function hash(text) {
    var h = 0;
    for (var i = 0; i < text.length; i++) { h = (h * 31 + text.charCodeAt(i)) | 0; }
    return Math.abs(h);
  }

  function colour(name, prefix) {
    var h = hash(name);
    var light = 55 + (h % 17);
    switch (category(name, prefix)) {
      case "target": return "hsl(" + (14 + (h % 32)) + ", 88%, " + light + "%)";
      case "runtime": return "hsl(" + (195 + (h % 40)) + ", 60%, " + (light + 6) + "%)";
      case "native": return "hsl(220, 8%, " + (68 + (h % 14)) + "%)";
      default: return "hsl(" + (70 + (h % 90)) + ", 50%, " + light + "%)";
    }
  }

  // Frames of the subtree under `root` at least MIN_PX wide, as {node, x, w, level} with level
  // the depth below `root`. Children come widest first, so the first too narrow ends a row;
  // the rest are drawn as one grey block saying how many they are.
  function layout(root, width) {
    var out = [];
    (function walk(node, x, w, level) {
      out.push({ node: node, x: x, w: w, level: level });
      var cx = x;
      var kids = node.kids();
      for (var i = 0; i < kids.length; i++) {
        var cw = node.v > 0 ? w * kids[i].v / node.v : 0;
        if (cw < MIN_PX) { break; }
        walk(kids[i], cx, cw, level + 1);
        cx += cw;
      }
      if (i < kids.length) { narrow(node, kids.slice(i), cx, w / node.v, level + 1, out); }
    })(root, 0, width, 0);
    return out;
  }

  function narrow(parent, kids, x, scale, level, out) {
    var v = kids.reduce(function (sum, kid) { return sum + kid.v; }, 0);
    if (v * scale < MIN_PX) { return; }
    var label = "(" + kids.length + " frame" + (kids.length === 1 ? "" : "s") +
      " under a pixel wide: click to zoom into the frame above)";
    var node = { f: -2, v: v, s: 0, p: parent, d: parent.d + 1, label: label,
      kids: function () { return []; } };
    out.push({ node: node, x: x, w: v * scale, level: level, narrow: true });
  }

  // Draws `items` ({node, x, w, row, role}) into `box`; returns them (a frame's data-i is its
  // index, for hover and click).
  function draw(box, items, names, prefix) {
    box.textContent = "";
    var frag = document.createDocumentFragment();
    var rows = 0;
    items.forEach(function (item, i) {
      var name = item.node.label || (item.node.f < 0 ? "all" : names[item.node.f]);
      var el = document.createElement("div");
      el.className = "frame" + (item.role ? " " + item.role : "") + (item.narrow ? " narrow" : "");
      el.style.left = item.x + "px";
      el.style.width = Math.max(item.w - 1, 0.5) + "px";
      el.style.top = item.row * ROW + "px";
      el.style.background = colour(name, prefix);
      el.dataset.i = i;
      el.dataset.name = item.narrow ? "" : name;
      el.dataset.depth = item.node.d;
      el.dataset.role = item.role || "frame";
      if (item.w > LABEL_PX) { el.textContent = item.narrow ? name : shortName(name); }
      frag.appendChild(el);
      rows = Math.max(rows, item.row + 1);
    });
    box.style.height = rows * ROW + "px";
    box.appendChild(frag);
    return items;
  }

  // An icicle of `focus` (root on top) with its ancestors above it, dimmed, at full width.
  function tree(box, focus, names, prefix) {
    var chain = [];
    for (var a = focus.p; a; a = a.p) { chain.unshift(a); }
    var items = chain.map(function (node, row) {
      return { node: node, x: 0, w: box.clientWidth, row: row, role: "ancestor" };
    });
    layout(focus, box.clientWidth).forEach(function (item) {
      item.row = chain.length + item.level;
      item.role = item.level === 0 && chain.length ? "focus" : "";
      items.push(item);
    });
    return draw(box, items, names, prefix);
  }

  // The sandwich: callers grow upwards from the method's row, callees downwards.
  function sandwich(box, view, names, prefix) {
    var width = box.clientWidth;
    var callers = layout(view.callers, width).slice(1);
    var middle = callers.reduce(function (m, item) { return Math.max(m, item.level); }, 0);
    var items = callers.map(function (item) {
      item.row = middle - item.level;
      item.role = "caller";
      return item;
    });
    layout(view.callees, width).forEach(function (item) {
      item.row = middle + item.level;
      item.role = item.level === 0 ? "selected" : "callee";
      items.push(item);
    });
    return draw(box, items, names, prefix);
  }

  return { tree: tree, sandwich: sandwich, shortName: shortName, category: category };
})();
