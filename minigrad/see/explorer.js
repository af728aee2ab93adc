/* The step-through page of minigrad.see.explore.
 *
 * It reads two JSON blocks written by explorer.py: "minigrad-steps", one entry per VJP in the engine's
 * order, and "minigrad-graph", what is known of each drawn tensor. The inline SVG's nodes are found by
 * their <title>, which is the node id of draw.py (n0, n1, ...). Showing step k sets CSS classes on
 * those nodes (current, receives, pending, done, filled) and fills the three panels below the graph.
 */
(function () {
  "use strict";

  const steps = JSON.parse(document.getElementById("minigrad-steps").textContent);
  const graph = JSON.parse(document.getElementById("minigrad-graph").textContent);
  const nodes = graph.nodes;
  const $ = (id) => document.getElementById(id);
  const svg = document.querySelector("#graph svg");
  const shapes = {};
  const edges = [];
  const opStep = {};
  const leafShares = {};
  let current = 0;
  let selected = null;
  let timer = null;
  let zoom = 1;

  if (svg) {
    for (const g of svg.querySelectorAll("g.node")) {
      shapes[g.querySelector("title").textContent] = g;
    }
    for (const g of svg.querySelectorAll("g.edge")) {
      const ends = g.querySelector("title").textContent.split("->");
      edges.push({ tail: ends[0], head: ends[1], el: g });
    }
  }
  for (const step of steps) {
    opStep[step.op_id] = step.index;
    for (const send of step.sends) {
      if (send.grad !== null && send.leaf) {
        (leafShares[send.id] = leafShares[send.id] || []).push({ step: step.index, send: send });
      }
    }
  }

  // ---------------------------------------------------------------- numbers

  function fmt(v) {
    if (typeof v === "string") return v;
    if (v === 0) return "0";
    const a = Math.abs(v);
    let s;
    if (a >= 1e-4 && a < 1e5) {
      s = String(parseFloat(v.toPrecision(4)));
    } else {
      s = v.toExponential(3).replace(/\.?0+e/, "e").replace("e+", "e");
    }
    return s.replace(/-/g, "\u2212");
  }

  function shapeText(shape) {
    return shape.length ? shape.join("\u00d7") : "scalar";
  }

  function esc(text) {
    return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  }

  function rows(values, shape) {
    if (shape.length === 0) return [[values]];
    if (shape.length === 1) return [values];
    if (shape.length === 2) return values;
    const flat = [];
    (function walk(v) { if (Array.isArray(v)) v.forEach(walk); else flat.push(v); })(values);
    const width = shape[shape.length - 1];
    const out = [];
    for (let i = 0; i < flat.length; i += width) out.push(flat.slice(i, i + width));
    return out;
  }

  function valuesHTML(info) {
    if (!info) return '<p class="none">no gradient</p>';
    if (info.values === undefined) {
      if (info.norm === undefined) return '<p class="summary">empty</p>';
      return '<p class="summary">' + shapeText(info.shape) + ": \u2016\u00b7\u2016 " + num(info.norm) +
        ", min " + num(info.min) + ", max " + num(info.max) + ", mean " + num(info.mean) + "</p>";
    }
    if (info.shape.length === 0) return '<p class="scalar">' + num(info.values) + "</p>";
    const body = rows(info.values, info.shape)
      .map((r) => "<tr>" + r.map((v) => "<td>" + num(v) + "</td>").join("") + "</tr>").join("");
    const note = info.shape.length > 2 ? '<p class="summary">rows of the last axis</p>' : "";
    return '<table class="values">' + body + "</table>" + note;
  }

  function num(v) {
    return '<span class="num">' + fmt(v) + "</span>";
  }

  // ---------------------------------------------------------------- the graph

  function mark(id, cls) {
    if (id && shapes[id]) shapes[id].classList.add(cls);
  }

  function paintGraph(k) {
    const classes = ["current", "receives", "pending", "done", "filled", "selected"];
    for (const id in shapes) shapes[id].classList.remove(...classes);
    for (const e of edges) e.el.classList.remove("flow");
    const step = steps[k];
    for (const id in nodes) {
      const n = nodes[id];
      const got = n.received.some((j) => j < k);
      if (n.step !== null && n.step < k) { mark(id, "done"); mark(n.op_id, "done"); }
      if (n.step !== null && n.step > k && got) mark(id, "pending");
      if (n.step === null && n.received.some((j) => j <= k)) mark(id, "filled");
    }
    if (step) {
      mark(step.id, "current");
      mark(step.op_id, "current");
      for (const send of step.sends) {
        if (send.grad === null) continue;
        mark(send.id, "receives");
        for (const e of edges) {
          if (e.head !== step.op_id) continue;
          if (e.tail === send.id) e.el.classList.add("flow");
          const feed = edges.find((f) => f.tail === send.id && f.head === e.tail);
          if (feed) { e.el.classList.add("flow"); feed.el.classList.add("flow"); }
        }
      }
      follow([shapes[step.op_id], shapes[step.id]].concat(step.sends.map((send) => send.grad && shapes[send.id])));
    }
    if (selected) mark(selected, "selected");
  }

  // Scroll the graph so the elements are in view together (centred on them), or the first one if they cannot be.
  function follow(els) {
    els = els.filter(Boolean);
    if (!els.length) return;
    const pane = $("graph");
    const view = pane.getBoundingClientRect();
    const boxes = els.map((el) => el.getBoundingClientRect());
    const all = {
      left: Math.min(...boxes.map((b) => b.left)), right: Math.max(...boxes.map((b) => b.right)),
      top: Math.min(...boxes.map((b) => b.top)), bottom: Math.max(...boxes.map((b) => b.bottom)),
    };
    const margin = 24;
    const axes = [["left", "right", "clientWidth", "scrollLeft"], ["top", "bottom", "clientHeight", "scrollTop"]];
    for (const [lo, hi, size, scroll] of axes) {
      const room = pane[size];
      const box = all[hi] - all[lo] <= room - 2 * margin ? all : boxes[0];
      if (box[lo] < view[lo] + margin || box[hi] > view[lo] + room - margin) {
        pane[scroll] += (box[lo] + box[hi]) / 2 - (view[lo] + room / 2);
      }
    }
  }

  function naturalWidth() {
    return svg.viewBox.baseVal.width * 4 / 3;
  }

  function setZoom(z) {
    if (!svg) return;
    zoom = Math.min(2, Math.max(0.2, z));
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.style.width = (naturalWidth() * zoom) + "px";
    svg.style.height = (svg.viewBox.baseVal.height * 4 / 3 * zoom) + "px";
    if (steps.length) follow([shapes[steps[current].op_id]]);
  }

  function fitZoom() {
    return svg ? ($("graph").clientWidth - 16) / naturalWidth() : 1;
  }

  // ---------------------------------------------------------------- the panels

  function received(step) {
    if (step.index === 0 && step.received.length === 0) {
      return '<p class="from">the seed: backward() starts with ' + esc(nodes[step.id].symbol) + " = 1</p>";
    }
    const from = (r) => esc(r.op) + "'s VJP at step " + (r.step + 1);
    if (step.received.length === 1) return '<p class="from">from ' + from(step.received[0]) + "</p>";
    const shares = step.received.map((r, i) =>
      '<div class="part"><p class="from">' + (i ? "+= " : "") + "share " + (i + 1) + ", from " + from(r) + "</p>" +
      valuesHTML(steps[r.step].sends[r.input].grad) + "</div>").join("");
    return '<p class="from">the sum of ' + step.received.length + " shares, added up as they arrived:</p>" +
      '<div class="shares">' + shares + '</div><p class="from">= the gradient that arrived:</p>';
  }

  function sendHTML(step, send) {
    const target = nodes[send.id];
    let out = '<div class="send" data-id="' + send.id + '"><h4>to ' + esc(send.node) +
      ' <span class="shape">' + shapeText(send.shape) + "</span></h4>";
    if (send.grad === null) return out + '<p class="none">no gradient: ' + esc(send.why) + "</p></div>";
    if (send.formula) {
      out += '<p class="formula">' + esc(send.formula) + '</p><p class="shapes">' + esc(send.shapes) + "</p>";
    } else if (step.rule[send.input]) {
      out += '<p class="formula">grad_' + "xy"[send.input] + " = " + esc(step.rule[send.input]) + "</p>";
    }
    out += '<div class="sent">' + valuesHTML(send.grad) + "</div>";
    if (send.shares > 1) {
      out += '<p class="share">share ' + send.share + " of " + send.shares + " of " + esc(target.symbol) +
        (send.share === send.shares ? ", complete:" : ", summed so far:") + "</p>" +
        '<div class="total">' + valuesHTML(send.total) + "</div>";
    }
    if (send.leaf) {
      out += '<p class="leafnote">' + esc(send.node) + ".grad " +
        (send.share === send.shares ? "is complete" : "is filling in") + "</p>";
    }
    return out + "</div>";
  }

  function stepHTML(k) {
    const step = steps[k];
    if (!step) return "<h2>No steps</h2><p>backward() ran no VJP for this graph.</p>";
    const node = nodes[step.id];
    const sends = step.sends.map((s) => sendHTML(step, s)).join("");
    return "<h2>Step " + (k + 1) + " of " + steps.length + ': <span class="op">' + esc(step.label) +
      "</span> made " + esc(step.node) + "</h2>" +
      '<div class="arriving"><h3>gradient arriving: ' + esc(node.symbol) + ' <span class="shape">' +
      shapeText(step.shape) + "</span></h3>" + received(step) +
      '<div class="arrived">' + valuesHTML(step.grad) + "</div></div>" +
      "<h3>" + esc(step.op) + "'s VJP sends</h3>" + sends;
  }

  function leavesHTML(k) {
    let out = "<h2>Leaves: .grad filling in</h2>";
    if (graph.accumulates.length) {
      out += '<p class="note">' + esc(graph.accumulates.join(", ")) +
        " already held a .grad; backward() adds this pass's gradient to it. Shown: this pass's.</p>";
    }
    for (const id of graph.leaves) {
      const n = nodes[id];
      const got = (leafShares[id] || []).filter((s) => s.step <= k);
      const last = got[got.length - 1];
      const state = !last ? "None" : last.send.share === last.send.shares ? "complete" :
        "share " + last.send.share + " of " + last.send.shares;
      out += '<div class="leaf' + (last ? " has" : "") + '" data-id="' + id + '"><h4>' + esc(n.name) +
        '.grad <span class="shape">' + shapeText(n.shape) + '</span> <span class="state">' + state + "</span></h4>" +
        (last ? valuesHTML(last.send.total) : "") + "</div>";
    }
    return out;
  }

  function pathsHTML(n) {
    if (!n.paths) return "";
    const items = n.paths.map((p) => {
      const parts = p.split(" \u2190 ");
      const text = parts.length > 24 ?
        parts.slice(0, 10).join(" \u2190 ") + " \u2190 \u2026 (" + (parts.length - 20) + " more) \u2026 \u2190 " +
        parts.slice(-10).join(" \u2190 ") : p;
      return "<li>" + esc(text) + "</li>";
    }).join("");
    const more = n.total_paths > n.paths.length ? "<li>\u2026 and " + (n.total_paths - n.paths.length) +
      " more (the formula sums all " + n.total_paths + ")</li>" : "";
    return "<h3>chain-rule path" + (n.total_paths > 1 ? "s" : "") + " to " + esc(nodes[graph.root].name) +
      '</h3><ul class="paths">' + items + more + "</ul>";
  }

  function nodeHTML() {
    if (!selected) {
      return "<h2>A node</h2><p class=\"note\">Click a tensor in the graph for its value, its gradient, " +
        "its chain-rule path to the loss and its formula. Click an op to jump to its step.</p>" +
        (graph.formulas ? '<p class="note">' + esc(graph.formulas) + "</p>" : "");
    }
    const n = nodes[selected];
    const alias = n.alias && n.alias !== n.name ? " (" + esc(n.alias) + ")" : "";
    const made = n.op ? "made by " + esc(n.op) + (n.step !== null ? ", its VJP runs at step " + (n.step + 1) : "") :
      "a leaf" + (n.requires_grad ? " that requires grad" : ", no gradient needed");
    let out = '<h2>' + esc(n.name) + alias + ' <button id="close" type="button" title="close">\u2715</button></h2>' +
      '<p class="note">' + esc(n.kind) + ", " + shapeText(n.shape) + ", " + made + "</p>" +
      "<h3>value</h3>" + valuesHTML(n.value);
    if (n.grad) {
      out += "<h3>gradient " + esc(n.symbol) + "</h3>" + '<div class="grad">' + valuesHTML(n.grad) + "</div>";
    }
    if (n.formula) {
      out += "<h3>formula</h3><p class=\"formula\">" + esc(n.symbol) + " = " + esc(n.formula) + "</p>" +
        (n.shapes ? '<p class="shapes">' + esc(n.shapes) + "</p>" : "");
    }
    return out + pathsHTML(n);
  }

  // ---------------------------------------------------------------- state

  function show(k) {
    current = Math.max(0, Math.min(steps.length - 1, k));
    paintGraph(current);
    $("step").innerHTML = stepHTML(current);
    $("leaves").innerHTML = leavesHTML(current);
    $("slider").value = String(current);
    $("counter").textContent = steps.length ? "step " + (current + 1) + " of " + steps.length : "no steps";
    $("back").disabled = current === 0;
    $("next").disabled = current >= steps.length - 1;
    document.body.dataset.step = String(current);
  }

  function select(id) {
    selected = id;
    $("node").innerHTML = nodeHTML();
    const close = $("close");
    if (close) close.addEventListener("click", () => select(null));
    paintGraph(current);
  }

  function play() {
    if (timer) { stop(); return; }
    if (current >= steps.length - 1) show(0);
    $("play").textContent = "Pause";
    timer = setInterval(() => {
      if (current >= steps.length - 1) stop(); else show(current + 1);
    }, 1000);
  }

  function stop() {
    clearInterval(timer);
    timer = null;
    $("play").textContent = "Play";
  }

  $("slider").max = String(Math.max(0, steps.length - 1));
  $("slider").addEventListener("input", (e) => { stop(); show(Number(e.target.value)); });
  $("back").addEventListener("click", () => { stop(); show(current - 1); });
  $("next").addEventListener("click", () => { stop(); show(current + 1); });
  $("play").addEventListener("click", play);
  $("zoom-in").addEventListener("click", () => setZoom(zoom * 1.25));
  $("zoom-out").addEventListener("click", () => setZoom(zoom / 1.25));
  $("zoom-fit").addEventListener("click", () => setZoom(fitZoom()));
  document.addEventListener("keydown", (e) => {
    const tag = e.target.tagName;
    if (tag === "INPUT" || (tag === "BUTTON" && (e.key === " " || e.key === "Enter"))) return;
    if (e.key === "ArrowRight") { stop(); show(current + 1); }
    else if (e.key === "ArrowLeft") { stop(); show(current - 1); }
    else if (e.key === "Home") { stop(); show(0); }
    else if (e.key === "End") { stop(); show(steps.length - 1); }
    else if (e.key === " ") play();
    else return;
    e.preventDefault();
  });
  for (const id in shapes) {
    shapes[id].addEventListener("click", () => {
      if (nodes[id]) select(id);
      else if (opStep[id] !== undefined) { stop(); show(opStep[id]); }
    });
  }

  if (svg) setZoom(Math.min(1, Math.max(0.75, fitZoom())));
  else document.querySelector(".zoom").style.display = "none";
  select(null);
  show(0);
})();
