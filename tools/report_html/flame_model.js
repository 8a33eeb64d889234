// Flame data model for perf-trace-analyzer reports: rebuilds the call tree from the page's
// stack table and derives every view from it exactly, on demand.
// Table (flame.py): names[]; stacks = per stack [shared, added, frame ids...], sorted so that
// shared callers are written once; weights[] one per stack. Node 0 of the tree is "all".
var ptaFlameModel = (function () {
  "use strict";

  function build(data) {
    var codes = data.stacks;
    var size = 1;
    for (var i = 0; i < codes.length; i += 2 + codes[i + 1]) { size += codes[i + 1]; }
    var t = {
      frame: new Int32Array(size), parent: new Int32Array(size), self: new Float64Array(size),
      incl: new Float64Array(size), first: new Int32Array(size).fill(-1),
      next: new Int32Array(size).fill(-1), outer: new Uint8Array(size), size: size
    };
    t.frame[0] = -1;
    t.parent[0] = -1;
    var path = [0];
    var node = 1;
    var w = 0;
    for (i = 0; i < codes.length;) {
      var shared = codes[i], added = codes[i + 1];
      i += 2;
      path.length = shared + 1;
      for (var k = 0; k < added; k++, node++) {
        t.frame[node] = codes[i++];
        t.parent[node] = path[path.length - 1];
        path.push(node);
      }
      t.self[path[path.length - 1]] += data.weights[w++];
    }
    // Children lists (in table order) and inclusive weights: ids are in preorder, so every
    // child comes after its parent.
    for (node = size - 1; node > 0; node--) {
      var p = t.parent[node];
      t.next[node] = t.first[p];
      t.first[p] = node;
    }
    t.incl.set(t.self);
    for (node = size - 1; node > 0; node--) { t.incl[t.parent[node]] += t.incl[node]; }
    return t;
  }

  // Per method: self time, and inclusive time counting each stack once however often the
  // method recurs in it (the outermost occurrence carries it; t.outer marks those nodes).
  function methodTotals(t, count) {
    var self = new Float64Array(count), incl = new Float64Array(count);
    var onPath = new Int32Array(count);
    var path = [0];
    for (var node = 1; node < t.size; node++) {
      while (path[path.length - 1] !== t.parent[node]) { onPath[t.frame[path.pop()]]--; }
      var f = t.frame[node];
      self[f] += t.self[node];
      if (onPath[f] === 0) { t.outer[node] = 1; incl[f] += t.incl[node]; }
      onPath[f]++;
      path.push(node);
    }
    return { self: self, incl: incl };
  }

  // A view node: f (frame id, -1 for "all"), v (width), s (self), p (parent), d (depth), and
  // kids() computed when first drawn. "Down" nodes merge tree nodes by frame below them
  // (top-down, callees); "up" nodes merge them by caller frame (bottom-up, callers).
  function viewNode(f, v, s, parent, expand, state) {
    var n = { f: f, v: v, s: s, p: parent, d: parent ? parent.d + 1 : 0, state: state, k: null };
    n.kids = function () {
      if (n.k === null) { n.k = expand(n).sort(function (a, b) { return b.v - a.v; }); }
      return n.k;
    };
    return n;
  }

  function downKids(t) {
    return function expand(node) {
      var groups = new Map();
      node.state.forEach(function (id) {
        for (var c = t.first[id]; c >= 0; c = t.next[c]) {
          var g = groups.get(t.frame[c]);
          if (!g) { g = { ids: [], v: 0, s: 0 }; groups.set(t.frame[c], g); }
          g.ids.push(c);
          g.v += t.incl[c];
          g.s += t.self[c];
        }
      });
      var out = [];
      groups.forEach(function (g, f) { out.push(viewNode(f, g.v, g.s, node, expand, g.ids)); });
      return out;
    };
  }

  // state: Map tree node -> weight reaching it from the view's leaf side.
  function upKids(t) {
    return function expand(node) {
      var groups = new Map();
      node.state.forEach(function (weight, id) {
        var p = t.parent[id];
        if (p <= 0) { return; }
        var g = groups.get(t.frame[p]);
        if (!g) { g = { ids: new Map(), v: 0 }; groups.set(t.frame[p], g); }
        g.ids.set(p, (g.ids.get(p) || 0) + weight);
        g.v += weight;
      });
      var out = [];
      groups.forEach(function (g, f) { out.push(viewNode(f, g.v, 0, node, expand, g.ids)); });
      return out;
    };
  }

  function create(data) {
    var t = build(data);
    var totals = methodTotals(t, data.names.length);
    var index = new Map();
    data.names.forEach(function (name, i) { index.set(name, i); });
    var total = t.incl[0] || 1;
    var down = downKids(t), up = upKids(t);

    function nodesOf(f) {
      var ids = [];
      for (var node = 1; node < t.size; node++) {
        if (t.frame[node] === f && t.outer[node]) { ids.push(node); }
      }
      return ids;
    }

    return {
      names: data.names,
      total: total,
      elided: data.elided || 0,
      frameOf: function (name) { return index.has(name) ? index.get(name) : -1; },
      selfOf: function (f) { return totals.self[f]; },
      inclusiveOf: function (f) { return totals.incl[f]; },
      topDown: function () { return viewNode(-1, t.incl[0], t.self[0], null, down, [0]); },
      bottomUp: function () {
        return viewNode(-1, t.incl[0], 0, null, function (root) {
          var byFrame = new Map();
          for (var node = 1; node < t.size; node++) {
            if (t.self[node] <= 0) { continue; }
            var m = byFrame.get(t.frame[node]);
            if (!m) { m = new Map(); byFrame.set(t.frame[node], m); }
            m.set(node, t.self[node]);
          }
          var out = [];
          byFrame.forEach(function (m, f) {
            out.push(viewNode(f, totals.self[f], totals.self[f], root, up, m));
          });
          return out;
        }, null);
      },
      // Callers merged above the method, callees merged below; both start from its outermost
      // occurrences, so each stack counts once and the root is the inclusive time.
      sandwich: function (f) {
        var ids = nodesOf(f);
        var weights = new Map();
        ids.forEach(function (id) { weights.set(id, t.incl[id]); });
        return {
          callers: viewNode(f, totals.incl[f], totals.self[f], null, up, weights),
          callees: viewNode(f, totals.incl[f], totals.self[f], null, down, ids)
        };
      },
      // The share of all samples whose stack passes through a frame matching `term`, counted
      // once per stack (summing matched frame widths would count recursion twice).
      matchShare: function (term) {
        var hit = new Uint8Array(data.names.length);
        var methods = 0;
        data.names.forEach(function (name, i) {
          if (name.toLowerCase().indexOf(term) >= 0) { hit[i] = 1; methods++; }
        });
        var flagged = new Uint8Array(t.size);
        var matched = 0;
        for (var node = 1; node < t.size; node++) {
          flagged[node] = hit[t.frame[node]] || flagged[t.parent[node]];
          if (flagged[node]) { matched += t.self[node]; }
        }
        return { share: matched / total, methods: methods };
      }
    };
  }

  return { create: create };
})();
