/**
 * The dashboard page: a static shell plus an inline script that reads `api/summary` and draws
 * everything with DOM calls (`textContent`, never HTML strings: server names and error codes
 * come from the log). The chart is inline SVG; nothing loads from anywhere else.
 */
export const DASHBOARD_STYLE = `
  body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f7f8fa; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; } h2 { font-size: 1.05rem; margin: 0 0 .5rem; }
  section { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 1rem; margin-bottom: 1rem; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(26rem, 1fr)); gap: 1rem; }
  .cards { display: flex; gap: .75rem; flex-wrap: wrap; }
  .card { border: 1px solid #dde1e8; border-radius: 6px; padding: .5rem .9rem; min-width: 7rem; }
  .card b { display: block; font-size: 1.4rem; }
  table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #eceef2; }
  td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
  .stale { color: #a8261d; font-weight: 600; } .faulted { color: #a8261d; } .muted { color: #667; }
  .legend span { display: inline-block; margin-right: 1rem; } .legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }`;

export const DASHBOARD_BODY = `
<h1>Flow engine: operators' dashboard</h1>
<section><h2>Flows</h2><div class="cards" id="totals"></div></section>
<section><h2>Flows by status over time (per hour, UTC)</h2><div class="legend" id="legend"></div><div id="chart"></div></section>
<div class="grid">
  <section><h2>Flows by server</h2><table id="servers"></table></section>
  <section><h2>Failure reasons per server</h2><table id="errors"></table></section>
  <section><h2>Completed flow durations</h2><table id="durations"></table></section>
  <section><h2>Projections</h2><table id="projections"></table></section>
</div>
<section><h2>Client registrations</h2><table id="clients"></table></section>
<section><h2>Stale-client cleanups: <span id="stale-count" data-testid="stale-cleanups">0</span></h2><table id="cleanups"></table></section>
<p class="muted" id="status">Loading…</p>`;

export const DASHBOARD_SCRIPT = `
(function () {
  var STATUSES = ['PENDING', 'COMPLETED', 'FAILED', 'CANCELLED', 'EXPIRED'];
  var SERIES = [['completed', '#2e8b57'], ['failed', '#c0392b'], ['cancelled', '#8e8e8e'], ['expired', '#e0a100'], ['initiated', '#3a6fd8']];
  var SVG = 'http://www.w3.org/2000/svg';
  function el(tag, text, attrs) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    for (var k in (attrs || {})) e.setAttribute(k, attrs[k]);
    return e;
  }
  function row(table, cells, head, testid) {
    var tr = el('tr', null, testid ? { 'data-testid': testid } : {});
    cells.forEach(function (c) {
      var cell = el(head ? 'th' : 'td', c && c.text !== undefined ? c.text : c, c && c.attrs ? c.attrs : {});
      if (typeof (c && c.text !== undefined ? c.text : c) === 'number') cell.className = 'n';
      if (c && c.cls) cell.className = c.cls;
      tr.appendChild(cell);
    });
    table.appendChild(tr);
  }
  function num(v, id) { return { text: v, attrs: { 'data-testid': id } }; }
  function svg(tag, attrs) { var e = document.createElementNS(SVG, tag); for (var k in attrs) e.setAttribute(k, attrs[k]); return e; }

  function chart(hours) {
    var box = document.getElementById('chart');
    var keys = Object.keys(hours).sort();
    if (!keys.length) { box.appendChild(el('p', 'No flows yet.', { 'class': 'muted' })); return; }
    var W = Math.max(480, keys.length * 28), H = 220, pad = 30, bw = Math.max(6, (W - pad * 2) / keys.length - 6);
    var max = 1;
    keys.forEach(function (k) { var h = hours[k]; max = Math.max(max, h.completed + h.failed + h.cancelled + h.expired, h.initiated); });
    var s = svg('svg', { width: W, height: H + 40, viewBox: '0 0 ' + W + ' ' + (H + 40), role: 'img', 'aria-label': 'flows per hour by status', 'data-testid': 'chart' });
    s.appendChild(svg('line', { x1: pad, y1: H, x2: W - pad, y2: H, stroke: '#999' }));
    var axis = svg('text', { x: 2, y: 12, 'font-size': 10, fill: '#667' }); axis.textContent = String(max); s.appendChild(axis);
    keys.forEach(function (k, i) {
      var h = hours[k], x = pad + i * (bw + 6), y = H;
      var g = svg('g', { 'data-hour': k });
      SERIES.slice(0, 4).forEach(function (sr) {
        var v = h[sr[0]]; if (!v) return;
        var bh = v / max * (H - 10); y -= bh;
        var r = svg('rect', { x: x, y: y, width: bw, height: bh, fill: sr[1], 'data-series': sr[0], 'data-value': v });
        var t = svg('title', {}); t.textContent = k + ':00 ' + sr[0] + ' ' + v; r.appendChild(t); g.appendChild(r);
      });
      var iy = H - h.initiated / max * (H - 10);
      g.appendChild(svg('line', { x1: x - 2, x2: x + bw + 2, y1: iy, y2: iy, stroke: SERIES[4][1], 'stroke-width': 2, 'data-series': 'initiated', 'data-value': h.initiated }));
      if (i % Math.ceil(keys.length / 12) === 0) { var lb = svg('text', { x: x, y: H + 14, 'font-size': 10, fill: '#667' }); lb.textContent = k.slice(5).replace('T', ' ') + 'h'; g.appendChild(lb); }
      s.appendChild(g);
    });
    box.appendChild(s);
    var legend = document.getElementById('legend');
    SERIES.forEach(function (sr) { var sp = el('span', sr[0]); var sw = el('i'); sw.style.background = sr[1]; sp.insertBefore(sw, sp.firstChild); legend.appendChild(sp); });
  }

  function render(d) {
    var f = d.flows, c = d.clients, p = d.projections;
    var totals = document.getElementById('totals');
    [['initiated', 'Initiated']].concat(STATUSES.map(function (s) { return [s, s.charAt(0) + s.slice(1).toLowerCase()]; })).forEach(function (t) {
      var card = el('div', null, { 'class': 'card' });
      card.appendChild(el('b', f ? f.totals[t[0]] : 0, { 'data-testid': 'total-' + t[0] }));
      card.appendChild(el('span', t[1]));
      totals.appendChild(card);
    });
    chart(f ? f.hours : {});
    var servers = document.getElementById('servers');
    row(servers, ['server'].concat(STATUSES), true);
    Object.keys(f ? f.byServer : {}).sort().forEach(function (name) {
      var counts = f.byServer[name];
      row(servers, [name].concat(STATUSES.map(function (s) { return num(counts[s], 'server-' + name + '-' + s); })));
    });
    var errors = document.getElementById('errors');
    row(errors, ['server', 'reason', 'flows'], true);
    Object.keys(f ? f.errorsByServer : {}).sort().forEach(function (name) {
      var e = f.errorsByServer[name];
      Object.keys(e).sort(function (a, b) { return e[b] - e[a] || (a < b ? -1 : 1); }).forEach(function (code) {
        row(errors, [name, code, num(e[code], 'error-' + name + '-' + code)]);
      });
    });
    var durations = document.getElementById('durations');
    row(durations, ['took', 'flows'], true);
    if (f) {
      var b = f.durations.bucketsSeconds;
      f.durations.counts.forEach(function (n, i) {
        var label = i < b.length ? '≤ ' + b[i] + ' s' : '> ' + b[b.length - 1] + ' s';
        row(durations, [label, num(n, 'duration-' + i)]);
      });
      row(durations, ['mean', f.durations.count ? (f.durations.sumSeconds / f.durations.count).toFixed(1) + ' s' : '–']);
    }
    var projections = document.getElementById('projections');
    row(projections, ['projection', 'status', 'position', 'lag (events)'], true);
    (p || []).forEach(function (x) {
      row(projections, [x.name, { text: x.status, cls: x.status === 'faulted' ? 'faulted' : '', attrs: { title: x.reason || '' } }, x.position || '–', num(x.lag, 'lag-' + x.name)]);
    });
    if (!p) row(projections, [{ text: 'Lag is reported by the embedded projector only.', cls: 'muted' }]);
    var clients = document.getElementById('clients');
    row(clients, ['server', 'client id', 'status', 'reuses', 'successes', 'rejections', 'after reuse', 'stale', 'discards'], true);
    var regs = c ? c.registrations : {};
    Object.keys(regs).sort(function (a, b) { return (regs[a].serverName || '') < (regs[b].serverName || '') ? -1 : 1; }).forEach(function (k) {
      var r = regs[k];
      row(clients, [r.serverName, r.clientId || '–', { text: r.status, attrs: { 'data-testid': 'reg-status-' + k } }, r.reuses, r.successes, r.rejections, r.rejectionsAfterReuse,
        { text: r.stale ? 'stale (' + r.staleReason + ')' : 'no', cls: r.stale ? 'stale' : '', attrs: { 'data-testid': 'reg-stale-' + k } }, r.discards], false, 'reg-' + k);
    });
    document.getElementById('stale-count').textContent = String(c ? c.staleCleanups : 0);
    var cleanups = document.getElementById('cleanups');
    row(cleanups, ['when', 'server', 'client id'], true);
    (c ? c.cleanups : []).slice().reverse().forEach(function (x) { row(cleanups, [x.at, x.serverName, x.clientId], false, 'cleanup-' + x.clientId); });
    var status = document.getElementById('status');
    status.textContent = 'Read from projections at ' + new Date().toISOString();
    document.body.setAttribute('data-ready', 'true');
  }

  var base = location.pathname.replace(/\\/+$/, '');
  fetch(base + '/api/summary', { credentials: 'same-origin', headers: { accept: 'application/json' } })
    .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
    .then(render)
    .catch(function (e) { document.getElementById('status').textContent = 'Cannot read the projections: ' + e.message; document.body.setAttribute('data-ready', 'error'); });
})();`;
