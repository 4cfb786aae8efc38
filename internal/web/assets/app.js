// Vigil console. Plain JavaScript, no build step.
//
// Security rule for this file: every value that comes from the API (log
// data, field names, error messages) reaches the page only as text, through
// the h() helper and textContent. Nothing here assigns innerHTML, and
// chart tooltips are built as DOM nodes the same way.
'use strict';

(() => {
  // ---------------------------------------------------------------- helpers

  const MAX_CELL = 300; // characters of one value shown in a table cell

  // h builds an element. props: class, text, title, href, type, value,
  // placeholder, data (dataset), on (event listeners), attrs (other safe
  // attributes). Children are nodes or strings (appended as text).
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null || v === false) continue;
        switch (k) {
          case 'class': el.className = v; break;
          case 'text': el.textContent = String(v); break;
          case 'on': for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn); break;
          case 'data': for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv); break;
          case 'href': el.setAttribute('href', safeHref(v)); break;
          case 'attrs': for (const [ak, av] of Object.entries(v)) el.setAttribute(ak, String(av)); break;
          default: el[k] = v;
        }
      }
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }

  // safeHref allows only the console's own routes and API paths.
  function safeHref(v) {
    const s = String(v);
    return s.startsWith('#/') || s.startsWith('/api/') ? s : '#/';
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  const numFmt = new Intl.NumberFormat('en-US');
  const compactFmt = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

  function fmtNum(n) { return numFmt.format(Math.round(n * 100) / 100); }

  function fmtBytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 2 : 1)) + ' ' + units[i];
  }

  function fmtValue(n, unit) { return unit === 'bytes' ? fmtBytes(n) : fmtNum(n); }

  function pad(n, w = 2) { return String(n).padStart(w, '0'); }

  // fmtTime shows epoch ms in UTC: 2024-01-02 15:04:05.000.
  function fmtTime(ms) {
    const d = new Date(ms);
    if (isNaN(d)) return String(ms);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
  }

  function fmtDuration(ms) {
    const units = [[86400000, 'd'], [3600000, 'h'], [60000, 'm'], [1000, 's']];
    for (const [u, name] of units) if (ms >= u && ms % u === 0) return (ms / u) + name;
    return ms + 'ms';
  }

  function truncate(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + '…' : s; }

  // quoteValue writes a value for the query language: numbers bare,
  // everything else as a quoted phrase with \ and " escaped.
  function quoteValue(v) {
    const s = String(v);
    if (/^-?\d+(\.\d+)?$/.test(s)) return s;
    return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
  }

  // clause is the filter "field is value"; an empty value means missing.
  function clause(field, value) {
    if (value === '' || value === null || value === undefined) return 'NOT _exists_:' + field;
    return field + ':' + quoteValue(value);
  }

  function negate(q) { return q.startsWith('NOT ') ? q.slice(4) : 'NOT ' + q; }

  // combine joins queries with AND, parenthesising each when there are
  // several (the same rule as the server's CombineQueries).
  function combine(...qs) {
    const parts = qs.flat().map((q) => (q || '').trim()).filter((q) => q && q !== '*');
    if (parts.length <= 1) return parts[0] || '';
    return parts.map((q) => '(' + q + ')').join(' AND ');
  }

  // flatten turns a document into [dotted name, value] pairs; lists of
  // scalars stay one value.
  function flatten(obj, prefix = '', out = []) {
    if (obj === null || typeof obj !== 'object') { out.push([prefix, obj]); return out; }
    if (Array.isArray(obj)) {
      if (obj.every((x) => x === null || typeof x !== 'object')) { out.push([prefix, obj]); return out; }
      obj.forEach((x, i) => flatten(x, prefix ? `${prefix}.${i}` : String(i), out));
      return out;
    }
    const keys = Object.keys(obj);
    if (keys.length === 0 && prefix) out.push([prefix, obj]);
    for (const k of keys) flatten(obj[k], prefix ? `${prefix}.${k}` : k, out);
    return out;
  }

  function valueText(v) {
    if (v === null) return 'null';
    if (Array.isArray(v)) return v.map((x) => (x === null ? 'null' : String(x))).join(', ');
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  // Diagnostics: a content-security-policy violation is a bug; the browser
  // test reads this list.
  window.__vigilCSP = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__vigilCSP.push(`${e.violatedDirective} ${e.blockedURI}`);
    console.warn('CSP violation', e.violatedDirective, e.blockedURI);
  });

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, message, position) {
      super(message);
      this.status = status;
      this.position = position;
    }
  }

  const auth = { token: sessionStorage.getItem('vigil.token') || '' };
  let health = null;

  // api GETs an API path with query parameters and returns the JSON body.
  async function api(path, params, signal) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (v === undefined || v === null || v === '') continue;
      if (Array.isArray(v)) v.forEach((x) => qs.append(k, x)); else qs.set(k, String(v));
    }
    return send(path + (qs.toString() ? '?' + qs.toString() : ''), {}, signal);
  }

  // apiPost POSTs a JSON body to an API path and returns the JSON answer.
  function apiPost(path, body, signal) {
    return send(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }, signal);
  }

  async function send(url, init, signal) {
    const headers = Object.assign({ Accept: 'application/json' }, init.headers);
    if (auth.token) headers.Authorization = 'Bearer ' + auth.token;
    let res;
    try {
      res = await fetch(url, Object.assign({}, init, { headers, signal, credentials: 'same-origin' }));
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, 'the server does not answer: ' + e.message);
    }
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (res.status === 401 && health && health.token_auth) {
      askToken();
      throw new ApiError(401, 'authentication required');
    }
    if (!res.ok) {
      throw new ApiError(res.status, (body && body.error) || `HTTP ${res.status}`, body && body.position);
    }
    return body;
  }

  function askToken() {
    if (document.querySelector('.modal-back')) return;
    const input = h('input', { class: 'input', type: 'password', placeholder: 'API token', autocomplete: 'off' });
    const back = h('div', { class: 'modal-back' },
      h('form', {
        class: 'modal',
        on: {
          submit: (e) => {
            e.preventDefault();
            auth.token = input.value.trim();
            sessionStorage.setItem('vigil.token', auth.token);
            back.remove();
            render();
          },
        },
      },
      h('h1', { text: 'Sign in' }),
      h('p', { text: 'This Vigil server requires an API token.' }),
      input,
      h('div', { class: 'actions' }, h('button', { class: 'btn primary', type: 'submit', text: 'Continue' }))));
    document.body.append(back);
    input.focus();
  }

  // ---------------------------------------------------------------- state

  // The route lives in the location hash: #/view/arg?params. Time range,
  // query and filters are parameters, so every screen is a shareable link.
  function parseRoute() {
    const raw = location.hash.replace(/^#/, '') || '/discover';
    const [path, qs] = raw.split('?');
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    return { view: parts[0] || 'discover', arg: parts[1] || '', params: new URLSearchParams(qs || '') };
  }

  function routeHref(view, arg, params) {
    const qs = params && params.toString();
    return '#/' + view + (arg ? '/' + encodeURIComponent(arg) : '') + (qs ? '?' + qs : '');
  }

  function go(view, arg, params) {
    const href = routeHref(view, arg, params);
    if (location.hash === href) render(); else location.hash = href;
  }

  const QUICK = [
    ['15m', 'Last 15 minutes'], ['1h', 'Last 1 hour'], ['4h', 'Last 4 hours'],
    ['12h', 'Last 12 hours'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days'],
    ['30d', 'Last 30 days'], ['90d', 'Last 90 days'], ['365d', 'Last 1 year'],
    ['all', 'All time'],
  ];
  const DEFAULT_SINCE = '24h';

  // timeOf reads the time range from route parameters, falling back to
  // the last one used.
  function timeOf(params) {
    if (params.get('from') || params.get('to')) {
      return { from: Number(params.get('from')) || 0, to: Number(params.get('to')) || 0 };
    }
    const since = params.get('since') || localStorage.getItem('vigil.since') || DEFAULT_SINCE;
    return { since };
  }

  function setTimeParams(params, t) {
    params.delete('since'); params.delete('from'); params.delete('to');
    if (t.since) params.set('since', t.since);
    else {
      if (t.from) params.set('from', String(t.from));
      if (t.to) params.set('to', String(t.to));
    }
  }

  // timeApiParams turns a range into API parameters.
  function timeApiParams(t) {
    if (t.since && t.since !== 'all') return { since: t.since };
    if (t.since === 'all') return {};
    return { from: t.from || undefined, to: t.to || undefined };
  }

  function timeLabel(t) {
    if (t.since) {
      const q = QUICK.find(([k]) => k === t.since);
      return q ? q[1] : 'Last ' + t.since;
    }
    return `${t.from ? fmtTime(t.from).slice(0, 16) : '…'} → ${t.to ? fmtTime(t.to).slice(0, 16) : 'now'} UTC`;
  }

  // timeBounds gives the [from, to] epoch ms a range covers now, with 0
  // for an open side.
  function timeBounds(t) {
    if (t.since === 'all') return [0, 0];
    if (t.since) {
      const m = /^(\d+)([smhdw])$/.exec(t.since);
      if (!m) return [0, 0];
      const unit = { s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 }[m[2]];
      const now = Date.now();
      return [now - Number(m[1]) * unit, now];
    }
    return [t.from || 0, t.to || 0];
  }

  // ---------------------------------------------------------------- time picker

  function renderTimePicker(route) {
    const box = document.getElementById('timepicker');
    clear(box);
    if (route.view === 'indices' || (route.view === 'dashboards' && !route.arg)) return;
    const t = timeOf(route.params);
    const btn = h('button', { class: 'btn', type: 'button', id: 'time-button', text: timeLabel(t) + '  ▾' });
    box.append(btn);
    btn.addEventListener('click', () => {
      const open = box.querySelector('.popover');
      if (open) { open.remove(); return; }
      box.append(timePopover(route, t, () => box.querySelector('.popover')?.remove()));
    });
  }

  function toLocalInput(ms) {
    if (!ms) return '';
    return fmtTime(ms).slice(0, 16).replace(' ', 'T');
  }

  function timePopover(route, t, close) {
    const apply = (nt) => {
      if (nt.since) localStorage.setItem('vigil.since', nt.since);
      const p = new URLSearchParams(route.params);
      setTimeParams(p, nt);
      p.delete('offset');
      close();
      go(route.view, route.arg, p);
    };
    const from = h('input', { class: 'input', type: 'datetime-local', value: toLocalInput(t.from), step: 1 });
    const to = h('input', { class: 'input', type: 'datetime-local', value: toLocalInput(t.to), step: 1 });
    const err = h('div', { class: 'query-error' });
    return h('div', { class: 'popover' },
      h('h3', { text: 'Quick ranges' }),
      h('div', { class: 'quick' }, QUICK.map(([k, label]) => h('button', {
        type: 'button', text: label, class: t.since === k ? 'active' : '', data: { since: k },
        on: { click: () => apply({ since: k }) },
      }))),
      h('h3', { text: 'Absolute range (UTC)' }),
      h('div', { class: 'abs' }, h('label', { text: 'From' }), from, h('label', { text: 'To' }), to),
      err,
      h('div', { class: 'actions' },
        h('button', { class: 'btn', type: 'button', text: 'Cancel', on: { click: close } }),
        h('button', {
          class: 'btn primary', type: 'button', text: 'Apply',
          on: {
            click: () => {
              const f = from.value ? Date.parse(from.value + 'Z') : 0;
              const tt = to.value ? Date.parse(to.value + 'Z') : 0;
              if ((from.value && isNaN(f)) || (to.value && isNaN(tt))) { err.textContent = 'not a valid time'; return; }
              if (f && tt && f >= tt) { err.textContent = '"From" must be before "To"'; return; }
              if (!f && !tt) { apply({ since: 'all' }); return; }
              apply({ from: f, to: tt });
            },
          },
        })));
  }

  // ---------------------------------------------------------------- charts

  const PALETTE = ['#4c9aff', '#f5a524', '#3fb68b', '#f25f5c', '#a78bfa', '#22d3ee', '#f472b6', '#a3e635', '#fb923c', '#94a3b8'];
  const SEVERITY_COLORS = {
    critical: '#d83a52', high: '#f97b4a', medium: '#f5a524', low: '#4c9aff', informational: '#94a3b8',
    reject: '#f25f5c', accept: '#3fb68b', failure: '#f25f5c', success: '#3fb68b',
    noerror: '#3fb68b', nxdomain: '#f5a524', servfail: '#f25f5c',
  };
  const SEQUENTIAL = ['#17263b', '#1f4b8f', '#2f6fcc', '#5aa2ff', '#b5d6ff'];
  function colorFor(name, i) { return SEVERITY_COLORS[String(name).toLowerCase()] || PALETTE[i % PALETTE.length]; }

  let charts = []; // chart instances of the current view, disposed on navigation
  const resizer = new ResizeObserver((entries) => {
    for (const e of entries) {
      const c = window.echarts && echarts.getInstanceByDom(e.target);
      if (c) c.resize();
    }
  });

  function makeChart(el) {
    const c = echarts.init(el, null, { renderer: 'canvas' });
    charts.push(c);
    resizer.observe(el);
    return c;
  }

  function disposeCharts() {
    for (const c of charts) { try { resizer.unobserve(c.getDom()); c.dispose(); } catch (e) { /* already gone */ } }
    charts = [];
  }

  // tip builds a chart tooltip as DOM (text only).
  function tip(title, rows) {
    return h('div', { class: 'tip' },
      title !== undefined ? h('div', { class: 'tip-title', text: title }) : null,
      rows.map(([k, v]) => h('div', { class: 'tip-row' }, h('span', { text: k }), h('span', { class: 'n', text: v }))));
  }

  const baseText = { color: '#9aa7b8', fontSize: 11 };
  const axisLine = { lineStyle: { color: '#33415a' } };
  const splitLine = { lineStyle: { color: '#222c3a' } };

  function tooltipBase(extra) {
    return Object.assign({ confine: true, backgroundColor: '#1c2430', borderColor: '#33415a', textStyle: { color: '#d6dde8' }, extraCssText: '' }, extra);
  }

  function barChart(el, buckets, unit, onPick) {
    const c = makeChart(el);
    const rows = buckets.slice().reverse();
    const val = (b) => (unit ? b.value : b.count);
    c.setOption({
      animation: false,
      grid: { left: 8, right: 56, top: 6, bottom: 6, containLabel: true },
      xAxis: { type: 'value', splitNumber: 4, axisLabel: Object.assign({}, baseText, { hideOverlap: true, formatter: (v) => (unit === 'bytes' ? fmtBytes(v) : compactFmt.format(v)) }), splitLine, axisLine },
      yAxis: {
        type: 'category', data: rows.map((b) => b.key), axisLine, axisTick: { show: false },
        axisLabel: Object.assign({}, baseText, { color: '#d6dde8', formatter: (v) => truncate(v, 32) }),
        triggerEvent: true,
      },
      tooltip: tooltipBase({ trigger: 'item', formatter: (p) => tip(p.name, [[unit === 'bytes' ? 'bytes' : 'count', fmtValue(p.value, unit)]]) }),
      series: [{
        type: 'bar', data: rows.map(val), barMaxWidth: 18, itemStyle: { color: '#4c9aff', borderRadius: [0, 3, 3, 0] },
        label: { show: true, position: 'right', color: '#9aa7b8', fontSize: 11, formatter: (p) => (unit === 'bytes' ? fmtBytes(p.value) : compactFmt.format(p.value)) },
      }],
    });
    c.on('click', (p) => {
      if (p.componentType === 'series') onPick(rows[p.dataIndex].key);
      else if (p.componentType === 'yAxis') onPick(p.value);
    });
    return c;
  }

  function pieChart(el, buckets, onPick) {
    const c = makeChart(el);
    c.setOption({
      animation: false,
      tooltip: tooltipBase({ trigger: 'item', formatter: (p) => tip(p.name, [['count', fmtNum(p.value)], ['share', p.percent.toFixed(1) + '%']]) }),
      legend: { type: 'scroll', orient: 'vertical', right: 0, top: 'middle', textStyle: { color: '#d6dde8', fontSize: 11 }, formatter: (n) => truncate(n, 24), pageTextStyle: { color: '#9aa7b8' } },
      series: [{
        type: 'pie', radius: ['45%', '72%'], center: ['35%', '50%'], avoidLabelOverlap: true,
        label: { show: false }, itemStyle: { borderColor: '#161d27', borderWidth: 2 },
        data: buckets.map((b, i) => ({ name: b.key, value: b.count, itemStyle: { color: colorFor(b.key, i) } })),
      }],
    });
    c.on('click', (p) => { if (p.componentType === 'series') onPick(p.name); });
    return c;
  }

  // timelineChart draws a date histogram, stacked by Key2 when split.
  function timelineChart(el, res, split, onPickSeries, onPickTime, bounds) {
    const c = makeChart(el);
    const interval = res.interval_ms || 0;
    const names = [];
    const bySeries = new Map();
    const times = [...new Set(res.buckets.map((b) => Number(b.key)))].sort((a, b) => a - b);
    for (const b of res.buckets) {
      const name = split ? (b.key2 || '(none)') : 'documents';
      if (!bySeries.has(name)) { bySeries.set(name, new Map()); names.push(name); }
      const m = bySeries.get(name);
      m.set(Number(b.key), (m.get(Number(b.key)) || 0) + b.count);
    }
    // Every series gets a point at every bucket start, so the bars stack
    // by time and not by position.
    for (const n of names) {
      const m = bySeries.get(n);
      bySeries.set(n, times.map((t) => [t, m.get(t) || 0]));
    }
    const totals = names.map((n) => bySeries.get(n).reduce((s, [, v]) => s + v, 0));
    const order = names.map((n, i) => [n, totals[i]]).sort((a, b) => b[1] - a[1]).map(([n]) => n);
    c.setOption({
      animation: false,
      color: order.map((n, i) => colorFor(n, i)),
      grid: { left: 8, right: 16, top: split ? 30 : 10, bottom: 4, containLabel: true },
      legend: split ? { type: 'scroll', top: 0, textStyle: { color: '#d6dde8', fontSize: 11 }, formatter: (n) => truncate(n, 28), pageTextStyle: { color: '#9aa7b8' } } : undefined,
      xAxis: {
        type: 'time', axisLabel: baseText, axisLine, splitLine: { show: false },
        min: bounds && bounds[0] ? bounds[0] : undefined, max: bounds && bounds[1] ? bounds[1] : undefined,
      },
      yAxis: { type: 'value', axisLabel: Object.assign({}, baseText, { formatter: (v) => compactFmt.format(v) }), splitLine, axisLine },
      tooltip: tooltipBase({
        trigger: 'axis', axisPointer: { type: 'shadow' },
        formatter: (ps) => {
          const list = Array.isArray(ps) ? ps : [ps];
          const t = list.length ? list[0].value[0] : 0;
          const title = fmtTime(t).slice(0, 19) + (interval ? ` (+${fmtDuration(interval)})` : '');
          return tip(title, list.filter((p) => p.value[1]).map((p) => [p.seriesName, fmtNum(p.value[1])]));
        },
      }),
      series: order.map((n) => ({ type: 'bar', name: n, stack: 'all', data: bySeries.get(n), barMaxWidth: 24, large: false })),
    });
    c.on('click', (p) => {
      if (p.componentType !== 'series') return;
      if (split && onPickSeries) onPickSeries(p.seriesName === '(none)' ? '' : p.seriesName);
      else if (onPickTime && interval) onPickTime(p.value[0], p.value[0] + interval);
    });
    return c;
  }

  function heatmapChart(el, buckets, onPick) {
    const c = makeChart(el);
    const xs = [...new Set(buckets.map((b) => b.key))];
    const ys = [...new Set(buckets.map((b) => b.key2))];
    // Colour follows log(count), so a dominant cell does not wash out the
    // rest; tooltips give the count.
    const max = Math.log10(1 + Math.max(1, ...buckets.map((b) => b.count)));
    c.setOption({
      animation: false,
      grid: { left: 8, right: 12, top: 8, bottom: 40, containLabel: true },
      xAxis: { type: 'category', data: xs, axisLabel: Object.assign({}, baseText, { rotate: 30, formatter: (v) => truncate(v.replace(/\.amazonaws\.com$/, ''), 18) }), axisLine, splitArea: { show: false } },
      yAxis: { type: 'category', data: ys, axisLabel: Object.assign({}, baseText, { formatter: (v) => truncate(v, 22) }), axisLine },
      visualMap: { min: 0, max, calculable: false, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 120, itemWidth: 10, text: ['more', 'fewer'], textStyle: baseText, inRange: { color: SEQUENTIAL } },
      tooltip: tooltipBase({ trigger: 'item', formatter: (p) => tip(`${xs[p.value[0]]} × ${ys[p.value[1]]}`, [['count', fmtNum(p.value[3])]]) }),
      series: [{ type: 'heatmap', data: buckets.map((b) => [xs.indexOf(b.key), ys.indexOf(b.key2), Math.log10(1 + b.count), b.count]), itemStyle: { borderColor: '#161d27', borderWidth: 1 } }],
    });
    c.on('click', (p) => { if (p.componentType === 'series') onPick(xs[p.value[0]], ys[p.value[1]]); });
    return c;
  }

  // Country names as logs spell them → the names on the map.
  const COUNTRY_ALIASES = {
    'united states of america': 'United States', usa: 'United States', us: 'United States',
    'russian federation': 'Russia', 'republic of korea': 'South Korea', 'korea, republic of': 'South Korea', korea: 'South Korea',
    "korea, democratic people's republic of": 'North Korea', "democratic people's republic of korea": 'North Korea',
    'czech republic': 'Czechia', 'viet nam': 'Vietnam', 'iran, islamic republic of': 'Iran', 'iran (islamic republic of)': 'Iran',
    'the netherlands': 'Netherlands', holland: 'Netherlands', uk: 'United Kingdom', 'great britain': 'United Kingdom',
    'united kingdom of great britain and northern ireland': 'United Kingdom',
    'congo, the democratic republic of the': 'DR Congo', 'democratic republic of the congo': 'DR Congo', 'dem. rep. congo': 'DR Congo',
    'republic of the congo': 'Congo Republic', congo: 'Congo Republic', "cote d'ivoire": 'Ivory Coast', "côte d'ivoire": 'Ivory Coast',
    macedonia: 'North Macedonia', 'republic of north macedonia': 'North Macedonia', 'syrian arab republic': 'Syria',
    "lao people's democratic republic": 'Laos', 'taiwan, province of china': 'Taiwan', 'tanzania, united republic of': 'Tanzania',
    'bolivia, plurinational state of': 'Bolivia', 'venezuela, bolivarian republic of': 'Venezuela', 'moldova, republic of': 'Moldova',
    'republic of moldova': 'Moldova', swaziland: 'Eswatini', burma: 'Myanmar', 'türkiye': 'Turkey', turkiye: 'Turkey',
    'palestinian territory': 'Palestine', 'palestine, state of': 'Palestine', 'brunei darussalam': 'Brunei',
    'east timor': 'Timor-Leste', 'bosnia and herz.': 'Bosnia and Herzegovina', 'dominican rep.': 'Dominican Republic',
    'central african rep.': 'Central African Republic', 's. sudan': 'South Sudan', 'w. sahara': 'Western Sahara',
  };

  let worldPromise = null;
  let worldNames = null;
  function loadWorld() {
    if (!worldPromise) {
      worldPromise = fetch('/assets/vendor/world/countries-110m.geo.json', { credentials: 'same-origin' })
        .then((r) => { if (!r.ok) throw new Error('world map: HTTP ' + r.status); return r.json(); })
        .then((geo) => {
          echarts.registerMap('world', geo);
          worldNames = new Map(geo.features.map((f) => [f.properties.name.toLowerCase(), f.properties.name]));
          return geo;
        });
      worldPromise.catch(() => { worldPromise = null; });
    }
    return worldPromise;
  }

  function mapName(name) {
    const k = String(name).trim().toLowerCase();
    return (worldNames && worldNames.get(k)) || COUNTRY_ALIASES[k] || null;
  }

  function mapChart(el, buckets, onPick) {
    const c = makeChart(el);
    const data = [];
    const byMapName = new Map();
    for (const b of buckets) {
      const n = mapName(b.key);
      if (!n) continue;
      const prev = byMapName.get(n);
      if (prev) { prev.count += b.count; prev.value = Math.log10(1 + prev.count); continue; }
      // Colour follows log(count), as in heatmaps.
      const d = { name: n, value: Math.log10(1 + b.count), count: b.count, orig: b.key };
      byMapName.set(n, d);
      data.push(d);
    }
    const max = Math.max(Math.log10(2), ...data.map((d) => d.value));
    c.setOption({
      animation: false,
      tooltip: tooltipBase({ trigger: 'item', formatter: (p) => tip(p.data ? p.data.orig : p.name, [['count', p.data ? fmtNum(p.data.count) : '0']]) }),
      visualMap: { min: 0, max, left: 4, bottom: 4, itemHeight: 90, itemWidth: 10, text: ['more', 'fewer'], textStyle: baseText, calculable: false, inRange: { color: SEQUENTIAL } },
      series: [{
        type: 'map', map: 'world', roam: true, layoutCenter: ['50%', '52%'], layoutSize: '118%',
        itemStyle: { areaColor: '#1f2937', borderColor: '#33415a', borderWidth: 0.5 },
        emphasis: { label: { show: false }, itemStyle: { areaColor: '#f5a524' } },
        select: { disabled: true },
        data,
      }],
    });
    c.on('click', (p) => { if (p.componentType === 'series' && p.data) onPick(p.data.orig); });
    return { chart: c, unmapped: buckets.filter((b) => !mapName(b.key)) };
  }

  // ---------------------------------------------------------------- shared UI

  function spinner() { return h('div', { class: 'state' }, h('div', { class: 'spinner', attrs: { role: 'progressbar', 'aria-label': 'loading' } })); }
  function emptyState(text, hint) {
    return h('div', { class: 'state empty-state' }, h('div', null, h('div', { text: text || 'No data for this range' }), hint ? h('div', { class: 'hint', text: hint }) : null));
  }
  function errorState(err) { return h('div', { class: 'state error', text: err.message || String(err) }); }

  // queryErrorView shows a parse error under the query with a caret at its
  // position.
  function queryErrorView(box, err, queryText) {
    clear(box);
    if (!err) return;
    box.append(h('div', { text: err.message }));
    if (typeof err.position === 'number' && queryText && err.position <= queryText.length) {
      box.append(h('div', { text: queryText }), h('div', { class: 'caret', text: ' '.repeat(err.position) + '^' }));
    }
  }

  // chipsView draws the filter chips; each can be negated or removed.
  function chipsView(filters, onChange) {
    return h('div', { class: 'chips', id: 'filters' }, filters.map((f, i) => h('span', {
      class: 'chip' + (f.startsWith('NOT ') ? ' negated' : ''), data: { filter: f }, title: f,
    },
    h('span', { class: 'chip-text', text: f }),
    h('button', { type: 'button', title: 'Invert', text: '±', on: { click: () => { const n = filters.slice(); n[i] = negate(f); onChange(n); } } }),
    h('button', { type: 'button', title: 'Remove', text: '×', data: { remove: f }, on: { click: () => onChange(filters.filter((_, j) => j !== i)) } }))));
  }

  // ---------------------------------------------------------------- discover

  const PAGE_SIZES = [25, 50, 100, 250];
  let logTypesCache = null;

  async function logTypes(signal) {
    if (!logTypesCache) {
      const r = await api('/api/indices', {}, signal);
      logTypesCache = [...new Set(r.indices.map((i) => i.log_type))].sort();
    }
    return logTypesCache;
  }

  async function renderDiscover(main, route, signal) {
    const p = route.params;
    const t = timeOf(p);
    const state = {
      query: p.get('query') || '',
      filters: p.getAll('filter'),
      logType: p.get('log_type') || '',
      offset: Number(p.get('offset')) || 0,
      size: Number(p.get('size')) || 50,
      order: p.get('order') === 'asc' ? 'asc' : 'desc',
      cols: (p.get('cols') || '').split(',').filter(Boolean),
    };
    const nav = (changes) => {
      const n = new URLSearchParams();
      const s = Object.assign({}, state, changes);
      if (s.query) n.set('query', s.query);
      s.filters.forEach((f) => n.append('filter', f));
      if (s.logType) n.set('log_type', s.logType);
      setTimeParams(n, changes.time || t);
      if (s.offset) n.set('offset', String(s.offset));
      if (s.size !== 50) n.set('size', String(s.size));
      if (s.order !== 'desc') n.set('order', s.order);
      if (s.cols.length) n.set('cols', s.cols.join(','));
      go('discover', '', n);
    };
    const addFilter = (f) => { if (!state.filters.includes(f)) nav({ filters: state.filters.concat([f]), offset: 0 }); };

    const queryInput = h('input', { class: 'input query', id: 'query', value: state.query, placeholder: 'Search: eventName:ConsoleLogin AND NOT errorCode:*   ·   source.ip:10.0.0.0/8   ·   "access denied"', spellcheck: false, autocomplete: 'off' });
    const typeSelect = h('select', { class: 'input', id: 'log-type', title: 'Log type' }, h('option', { value: '', text: 'All log types' }));
    const qerr = h('div', { class: 'query-error', id: 'query-error' });
    const form = h('form', {
      class: 'query-row',
      on: { submit: (e) => { e.preventDefault(); nav({ query: queryInput.value.trim(), logType: typeSelect.value, offset: 0 }); } },
    }, typeSelect, queryInput, h('button', { class: 'btn primary', type: 'submit', text: 'Search' }));
    typeSelect.addEventListener('change', () => nav({ logType: typeSelect.value, offset: 0 }));

    const fieldsBox = h('div', { id: 'fields' }, h('div', { class: 'muted', text: 'Loading fields…' }));
    const fieldFilter = h('input', { class: 'input', placeholder: 'Filter fields', spellcheck: false });
    const totalEl = h('span', { class: 'hits-total', id: 'hits-total', text: '…' });
    const histEl = h('div', { class: 'hist', id: 'histogram' });
    const tableBox = h('div', { class: 'card', id: 'docs' }, h('div', { class: 'panel-body' }, spinner()));

    clear(main);
    main.append(
      form, qerr,
      chipsView(state.filters, (filters) => nav({ filters, offset: 0 })),
      h('div', { class: 'discover' },
        h('aside', { class: 'sidebar' }, fieldFilter, fieldsBox),
        h('section', { class: 'content' },
          h('div', { class: 'card hist-card' },
            h('div', { class: 'hist-head' }, totalEl, h('span', { class: 'muted', text: 'hits · ' + timeLabel(t) }), h('span', { class: 'muted', id: 'took' })),
            histEl),
          tableBox)));

    const filter = {
      query: combine(state.query, state.filters),
      log_type: state.logType || undefined,
      ...timeApiParams(t),
    };

    logTypes(signal).then((types) => {
      for (const lt of types) typeSelect.append(h('option', { value: lt, text: lt }));
      typeSelect.value = state.logType;
    }).catch(() => { /* the table shows the error */ });

    // Documents and histogram.
    const hitsP = api('/api/search', Object.assign({ size: state.size, offset: state.offset, order: state.order }, filter), signal);
    const histP = api('/api/aggregate', Object.assign({ kind: 'date_histogram' }, filter), signal);

    hitsP.then((res) => {
      totalEl.textContent = fmtNum(res.total);
      document.getElementById('took').textContent = `· ${res.took_ms} ms`;
      drawDocs(tableBox, res, state, nav, addFilter, t);
    }).catch((err) => {
      if (err.name === 'AbortError') return;
      totalEl.textContent = '–';
      if (err.status === 400) { queryErrorView(qerr, err, filter.query); queryInput.classList.add('bad'); }
      clear(tableBox);
      tableBox.append(h('div', { class: 'panel-body' }, errorState(err)));
    });

    histP.then((res) => {
      if (!res.buckets.length) { histEl.append(emptyState()); return; }
      timelineChart(histEl, res, false, null, (from, to) => nav({ time: { from, to }, offset: 0 }), timeBounds(t));
    }).catch((err) => {
      if (err.name === 'AbortError' || err.status === 400) return;
      histEl.append(errorState(err));
    });

    // Field list.
    api('/api/fields', { log_type: state.logType || undefined }, signal).then((res) => {
      drawFields(fieldsBox, fieldFilter, res.fields, filter, state, nav, addFilter, signal);
    }).catch((err) => {
      if (err.name === 'AbortError') return;
      clear(fieldsBox);
      fieldsBox.append(h('div', { class: 'query-error', text: err.message }));
    });
  }

  function drawFields(box, filterInput, fields, filter, state, nav, addFilter, signal) {
    const draw = () => {
      clear(box);
      const f = filterInput.value.trim().toLowerCase();
      const shown = fields.filter((x) => !f || x.name.toLowerCase().includes(f));
      if (!shown.length) { box.append(h('div', { class: 'muted', text: 'No fields' })); return; }
      for (const fd of shown.slice(0, 400)) box.append(fieldRow(fd, filter, state, nav, addFilter, signal));
      if (shown.length > 400) box.append(h('div', { class: 'hint', text: `${shown.length - 400} more: filter the list` }));
    };
    filterInput.addEventListener('input', draw);
    draw();
  }

  function fieldRow(fd, filter, state, nav, addFilter, signal) {
    const values = h('div', { class: 'field-values' });
    values.hidden = true;
    const isCol = state.cols.includes(fd.name);
    const head = h('div', { class: 'field-head', data: { field: fd.name }, title: fd.name },
      h('span', { class: 'type' + (fd.indexed ? ' indexed' : ''), text: fd.type || '?' }),
      h('span', { class: 'field-name', text: fd.name }),
      h('button', {
        class: 'btn small', type: 'button', text: isCol ? '− col' : '+ col', title: isCol ? 'Remove the column' : 'Show as a column',
        on: {
          click: (e) => {
            e.stopPropagation();
            nav({ cols: isCol ? state.cols.filter((c) => c !== fd.name) : state.cols.concat([fd.name]) });
          },
        },
      }));
    head.addEventListener('click', async () => {
      values.hidden = !values.hidden;
      if (values.hidden || values.dataset.loaded) return;
      values.dataset.loaded = '1';
      values.append(h('div', { class: 'muted', text: 'Top values…' }));
      try {
        const [res, cnt] = await Promise.all([
          api('/api/aggregate', Object.assign({ kind: 'terms', field: fd.name, size: 5 }, filter), signal),
          api('/api/aggregate', Object.assign({ kind: 'count' }, filter), signal),
        ]);
        clear(values);
        if (!res.buckets.length) { values.append(h('div', { class: 'muted', text: 'No values in this range' })); return; }
        const total = cnt.value || 1;
        for (const b of res.buckets) {
          const pct = Math.min(100, (b.count / total) * 100);
          const meter = h('div', { class: 'meter' }, h('span'));
          meter.firstChild.style.width = pct.toFixed(1) + '%';
          values.append(h('div', { class: 'topval', data: { value: b.key } },
            h('span', { class: 'v', text: b.key === '' ? '(empty)' : b.key, title: b.key }),
            h('span', { class: 'n', text: pct.toFixed(1) + '%' }),
            h('button', { class: 'btn icon small', type: 'button', text: '+', title: 'Filter for this value', on: { click: () => addFilter(clause(fd.name, b.key)) } }),
            h('button', { class: 'btn icon small', type: 'button', text: '−', title: 'Filter out this value', on: { click: () => addFilter(negate(clause(fd.name, b.key))) } }),
            meter));
        }
        values.append(h('div', { class: 'hint', text: `top 5 of ${fmtNum(cnt.value)} matching documents` }));
      } catch (err) {
        if (err.name === 'AbortError') return;
        clear(values);
        values.append(h('div', { class: 'query-error', text: err.message }));
      }
    });
    return h('div', { class: 'field' }, head, values);
  }

  // Fields not worth a place in the one-line summary.
  const SUMMARY_SKIP = new Set(['@message', '@log_s3bucket', '@log_s3key', '@log_type', '@timestamp', '@id', 'event.ingested', 'ecs.version', 'cloud.provider']);

  // ECS field sets shown first in a document's summary: they read the
  // same across log types.
  const ECS_ROOTS = new Set(['event', 'source', 'destination', 'user', 'cloud', 'network', 'rule', 'error', 'dns', 'host',
    'process', 'url', 'http', 'user_agent', 'related', 'threat', 'vulnerability', 'file', 'service']);

  function summaryOf(src) {
    const el = h('span', { class: 'summary' });
    const pairs = flatten(src).filter(([k]) => !SUMMARY_SKIP.has(k));
    const ecs = pairs.filter(([k]) => ECS_ROOTS.has(k.split('.')[0]) && !k.startsWith('related.'));
    const rest = pairs.filter(([k]) => !ECS_ROOTS.has(k.split('.')[0]));
    let n = 0;
    for (const [k, v] of ecs.concat(rest)) {
      el.append(h('span', { class: 'k', text: k }), h('span', { class: 'v', text: truncate(valueText(v), 160) }), ' ');
      if (++n >= 24) break;
    }
    return el;
  }

  function getPath(obj, path) {
    if (obj && Object.prototype.hasOwnProperty.call(obj, path)) return obj[path];
    let cur = obj;
    for (const part of path.split('.')) {
      if (cur === null || typeof cur !== 'object') return undefined;
      cur = cur[part];
    }
    return cur;
  }

  function drawDocs(box, res, state, nav, addFilter, t) {
    clear(box);
    if (!res.hits.length) {
      const msg = h('div', { class: 'empty', id: 'no-hits' }, h('div', { text: 'No data for this range' }));
      box.append(msg);
      if (t.since !== 'all') {
        api('/api/indices', {}).then((r) => {
          const newest = Math.max(0, ...r.indices.map((i) => i.max_timestamp_ms));
          if (newest && r.docs) {
            msg.append(h('div', { class: 'hint', text: `The newest of ${fmtNum(r.docs)} stored documents is from ${fmtTime(newest)} UTC.` }),
              h('button', { class: 'btn small', type: 'button', text: 'Show all time', on: { click: () => { localStorage.setItem('vigil.since', 'all'); nav({ time: { since: 'all' }, offset: 0 }); } } }));
          }
        }).catch(() => {});
      }
      return;
    }
    const cols = state.cols;
    const colgroup = h('colgroup', null, h('col', { class: 'toggle' }), h('col', { class: 'time' }), cols.length ? cols.map(() => h('col')) : h('col'));
    const sortTh = h('th', { class: 'sortable', text: 'Time (UTC) ' + (state.order === 'desc' ? '↓' : '↑'), title: 'Sort by time', on: { click: () => nav({ order: state.order === 'desc' ? 'asc' : 'desc', offset: 0 }) } });
    const thead = h('thead', null, h('tr', null, h('th'), sortTh, cols.length ? cols.map((c) => h('th', { text: c })) : h('th', { text: 'Document' })));
    const tbody = h('tbody');
    for (const hit of res.hits) {
      const src = hit._source || {};
      const tr = h('tr', { class: 'doc', data: { id: hit._id } },
        h('td', { class: 'muted', text: '▸' }),
        h('td', { class: 'time', text: fmtTime(hit.timestamp_ms) }),
        cols.length ? cols.map((c) => {
          const v = getPath(src, c);
          return h('td', null, h('span', { class: 'cell', text: v === undefined ? '' : truncate(valueText(v), MAX_CELL), title: v === undefined ? '' : truncate(valueText(v), 2000) }));
        }) : h('td', null, summaryOf(src)));
      let detail = null;
      tr.addEventListener('click', () => {
        if (detail) { detail.remove(); detail = null; tr.classList.remove('open'); tr.firstChild.textContent = '▸'; return; }
        detail = h('tr', { class: 'detail' }, h('td', { attrs: { colspan: String(2 + Math.max(1, cols.length)) } }, docDetail(hit, addFilter)));
        tr.after(detail);
        tr.classList.add('open');
        tr.firstChild.textContent = '▾';
      });
      tbody.append(tr);
    }
    const from = state.offset + 1;
    const to = state.offset + res.hits.length;
    const sizeSel = h('select', { class: 'input', title: 'Rows per page' }, PAGE_SIZES.map((n) => h('option', { value: String(n), text: `${n} rows`, selected: n === state.size })));
    sizeSel.addEventListener('change', () => nav({ size: Number(sizeSel.value), offset: 0 }));
    const pager = h('div', { class: 'pager', id: 'pager' },
      h('span', { text: `${fmtNum(from)}–${fmtNum(to)} of ${fmtNum(res.total)}` }),
      sizeSel,
      h('button', { class: 'btn small', type: 'button', text: '‹ Prev', disabled: state.offset === 0, on: { click: () => nav({ offset: Math.max(0, state.offset - state.size) }) } }),
      h('button', { class: 'btn small', type: 'button', id: 'next-page', text: 'Next ›', disabled: to >= res.total, on: { click: () => nav({ offset: state.offset + state.size }) } }));
    box.append(h('table', { class: 'docs' }, colgroup, thead, tbody), pager);
  }

  function docDetail(hit, addFilter) {
    const src = hit._source || {};
    const body = h('div');
    const tabTable = h('button', { type: 'button', text: 'Table', class: 'active' });
    const tabJSON = h('button', { type: 'button', text: 'JSON' });
    const showTable = () => {
      tabTable.classList.add('active'); tabJSON.classList.remove('active');
      clear(body);
      const tb = h('tbody');
      for (const [k, v] of flatten(src)) {
        const scalar = v === null || typeof v !== 'object' || Array.isArray(v);
        const filterValue = Array.isArray(v) ? (v.length === 1 ? v[0] : null) : v;
        const canFilter = scalar && filterValue !== null && typeof filterValue !== 'object' && String(filterValue).length <= 1000;
        tb.append(h('tr', { data: { field: k } },
          h('td', { class: 'acts' }, canFilter ? [
            h('button', { class: 'btn icon small', type: 'button', text: '+', title: 'Filter for this value', on: { click: (e) => { e.stopPropagation(); addFilter(clause(k, filterValue)); } } }),
            h('button', { class: 'btn icon small', type: 'button', text: '−', title: 'Filter out this value', on: { click: (e) => { e.stopPropagation(); addFilter(negate(clause(k, filterValue))); } } }),
          ] : null),
          h('td', { class: 'key', text: k }),
          h('td', { class: 'val', text: valueText(v) })));
      }
      body.append(h('table', { class: 'kv' }, tb));
    };
    const showJSON = () => {
      tabJSON.classList.add('active'); tabTable.classList.remove('active');
      clear(body);
      body.append(h('pre', { class: 'json', text: JSON.stringify(src, null, 2) }));
    };
    tabTable.addEventListener('click', showTable);
    tabJSON.addEventListener('click', showJSON);
    showTable();
    return h('div', null,
      h('div', { class: 'tabs' }, tabTable, tabJSON, h('span', { class: 'meta', text: `_id ${hit._id} · ${hit._index}` })),
      body);
  }

  // ---------------------------------------------------------------- dashboards

  let dashboardsCache = null;
  async function dashboards(signal) {
    if (!dashboardsCache) dashboardsCache = (await api('/api/dashboards', {}, signal)).dashboards;
    return dashboardsCache;
  }

  async function renderDashboardList(main, route, signal) {
    const list = await dashboards(signal);
    clear(main);
    main.append(h('div', { class: 'page-head' }, h('h1', { text: 'Dashboards' })),
      h('div', { class: 'dash-list' }, list.map((d) => h('a', { class: 'card dash-card', href: routeHref('dashboards', d.id, null), data: { dashboard: d.id } },
        h('h2', { text: d.title }),
        h('p', { text: d.description }),
        h('p', { class: 'hint', text: `${d.panels.length} panels · ${d.log_type.join(', ')}` })))));
  }

  function discoverHref(query, logTypes, t) {
    const n = new URLSearchParams();
    if (query) n.set('query', query);
    if (logTypes && logTypes.length === 1) n.set('log_type', logTypes[0]);
    setTimeParams(n, t);
    return routeHref('discover', '', n);
  }

  async function renderDashboard(main, route, signal) {
    const list = await dashboards(signal);
    const d = list.find((x) => x.id === route.arg);
    clear(main);
    if (!d) { main.append(h('div', { class: 'banner', text: `No dashboard "${route.arg}".` })); return; }
    const p = route.params;
    const t = timeOf(p);
    const filters = p.getAll('filter');
    const userQuery = p.get('query') || '';
    const nav = (changes) => {
      const n = new URLSearchParams();
      const q = changes.query !== undefined ? changes.query : userQuery;
      if (q) n.set('query', q);
      (changes.filters || filters).forEach((f) => n.append('filter', f));
      setTimeParams(n, changes.time || t);
      go('dashboards', d.id, n);
    };
    const addFilter = (f) => { if (!filters.includes(f)) nav({ filters: filters.concat([f]) }); };
    const dashQuery = combine(userQuery, filters);

    const queryInput = h('input', { class: 'input query', id: 'query', value: userQuery, placeholder: 'Filter every panel: cloud.region:us-east-1', spellcheck: false, autocomplete: 'off' });
    const qerr = h('div', { class: 'query-error', id: 'query-error' });
    main.append(
      h('div', { class: 'page-head' },
        h('h1', { text: d.title }),
        h('span', { class: 'desc', text: d.description }),
        h('span', { class: 'spacer' }),
        h('a', { href: discoverHref(dashQuery, d.log_type, t), text: 'Open in Discover ↗' })),
      h('form', { class: 'query-row', on: { submit: (e) => { e.preventDefault(); nav({ query: queryInput.value.trim() }); } } },
        queryInput, h('button', { class: 'btn primary', type: 'submit', text: 'Apply' })),
      qerr,
      chipsView(filters, (f) => nav({ filters: f })));
    const grid = h('div', { class: 'grid', id: 'panels' });
    main.append(grid);
    let shownQueryError = false;
    for (const panel of d.panels) {
      const body = h('div', { class: 'panel-body' }, spinner());
      const el = h('section', { class: `card panel span-${panel.span} viz-${panel.viz}`, data: { panel: panel.id, state: 'loading', viz: panel.viz } },
        h('div', { class: 'panel-head' },
          h('h2', { text: panel.title, title: panel.description || panel.title }),
          h('a', { class: 'discover-link', href: discoverHref(combine(panel.query, dashQuery), panel.log_type, t), text: 'Discover ↗', title: 'Open these documents in Discover' })),
        body);
      grid.append(el);
      const params = Object.assign({ query: dashQuery }, timeApiParams(t));
      api(`/api/dashboards/${encodeURIComponent(d.id)}/panels/${encodeURIComponent(panel.id)}`, params, signal).then(async (res) => {
        await drawPanel(body, panel, res, addFilter, (from, to) => nav({ time: { from, to } }), timeBounds(t));
        el.dataset.state = body.querySelector('.empty-state') ? 'empty' : 'ready';
      }).catch((err) => {
        if (err.name === 'AbortError') return;
        el.dataset.state = 'error';
        clear(body);
        body.append(errorState(err));
        if (err.status === 400 && !shownQueryError) { shownQueryError = true; queryErrorView(qerr, err, null); }
      });
    }
  }

  async function drawPanel(body, panel, res, addFilter, zoom, bounds) {
    clear(body);
    const a = panel.agg;
    const pick = (v) => addFilter(clause(a.field, v));
    switch (panel.viz) {
      case 'metric': {
        body.append(h('div', { class: 'metric' },
          h('div', { class: 'num', text: fmtValue(res.value, panel.unit) }),
          h('div', { class: 'sub', text: a.kind === 'cardinality' ? 'distinct ' + a.field : 'documents' })));
        return;
      }
      case 'bar':
      case 'pie':
      case 'heatmap':
      case 'timeline':
      case 'map':
        if (!res.buckets.length) { body.append(emptyState(null, panel.description)); return; }
        break;
      case 'table':
        if (!res.buckets.length) { body.append(emptyState(null, panel.description)); return; }
        body.append(topTable(res.buckets, panel, addFilter));
        return;
      default:
        body.append(errorState(new Error('unknown visualisation ' + panel.viz)));
        return;
    }
    if (panel.viz === 'map') {
      const wrap = h('div', { class: 'map-wrap' });
      const chartEl = h('div', { class: 'chart' });
      const side = h('div', { class: 'map-side' });
      wrap.append(chartEl, side);
      body.append(wrap);
      try { await loadWorld(); } catch (err) { clear(body); body.append(errorState(err)); return; }
      const { unmapped } = mapChart(chartEl, res.buckets, pick);
      side.append(topTable(res.buckets.slice(0, 8), panel, addFilter, 'country'));
      if (unmapped.length) side.append(h('div', { class: 'hint', text: `${unmapped.length} value(s) not on the map` }));
      return;
    }
    const chartEl = h('div', { class: 'chart' });
    body.append(chartEl);
    if (panel.viz === 'bar') barChart(chartEl, res.buckets, panel.unit, pick);
    else if (panel.viz === 'pie') pieChart(chartEl, res.buckets, pick);
    else if (panel.viz === 'heatmap') heatmapChart(chartEl, res.buckets, (x, y) => addFilter(`${clause(a.field, x)} AND ${clause(a.field2, y)}`));
    else if (panel.viz === 'timeline') timelineChart(chartEl, res, Boolean(a.field), pick, zoom, bounds);
  }

  function topTable(buckets, panel, addFilter, label) {
    const a = panel.agg;
    const two = a.kind === 'terms2';
    const metric = Boolean(a.metric);
    const val = (b) => (metric ? b.value : b.count);
    const max = Math.max(1, ...buckets.map(val));
    const rows = buckets.map((b) => {
      const bar = h('div', { class: 'bar' }, h('span'));
      bar.firstChild.style.width = ((val(b) / max) * 100).toFixed(1) + '%';
      const tr = h('tr', { class: 'row', data: { value: b.key }, title: 'Filter for this value' },
        h('td', null, h('div', { text: b.key === '' ? '(empty)' : b.key }), bar),
        two ? h('td', { text: b.key2 }) : null,
        h('td', { class: 'n', text: fmtValue(val(b), metric ? panel.unit : '') }));
      tr.addEventListener('click', () => {
        const f = two ? `${clause(a.field, b.key)} AND ${clause(a.field2, b.key2)}` : clause(a.field, b.key);
        addFilter(f);
      });
      return tr;
    });
    return h('table', { class: 'top' },
      h('thead', null, h('tr', null, h('th', { text: label || a.field }), two ? h('th', { text: a.field2 }) : null, h('th', { class: 'n', text: metric ? (panel.unit || a.metric) : 'count' }))),
      h('tbody', null, rows));
  }

  // ---------------------------------------------------------------- alerts

  // Sigma levels, most severe first; the level filter and the counts use
  // this order.
  const LEVELS = ['critical', 'high', 'medium', 'low', 'informational'];
  const ALERT_STATUSES = [['open', 'Open'], ['acknowledged', 'Acknowledged'], ['all', 'All statuses']];
  const ALERT_SORTS = [['alert.last_seen', 'Last seen'], ['@timestamp', 'First seen'], ['event.severity', 'Severity'], ['alert.count', 'Count']];
  const ALERT_PAGE = 50;
  const MAX_KEY_CHIPS = 4; // key field values shown in a table row

  function alertLogType() { return (health && health.alert_log_type) || 'alert'; }
  function canWriteAlerts() { return Boolean(health && health.alerts_write); }

  // isoTime shows an RFC 3339 time of an alert document in UTC, to the
  // second.
  function isoTime(s) {
    const ms = Date.parse(s);
    return isNaN(ms) ? String(s || '') : fmtTime(ms).slice(0, 19);
  }

  function levelBadge(level) {
    const l = String(level || 'unknown').toLowerCase();
    return h('span', { class: 'level level-' + (LEVELS.includes(l) ? l : 'unknown'), text: l });
  }

  function statusBadge(status) {
    const s = String(status || 'unknown');
    return h('span', { class: 'status status-' + (s === 'open' || s === 'acknowledged' ? s : 'unknown'), text: s });
  }

  // stringMap keeps the string-valued entries of an alert's key_fields or
  // group_by object.
  function stringMap(m) {
    if (!m || typeof m !== 'object' || Array.isArray(m)) return [];
    return Object.entries(m).map(([k, v]) => [k, valueText(v)]);
  }

  function alertKeys(a) {
    const g = stringMap(a.group_by);
    return g.length ? g : stringMap(a.key_fields);
  }

  function keyChips(pairs) {
    const el = h('span', { class: 'keychips' });
    for (const [k, v] of pairs.slice(0, MAX_KEY_CHIPS)) {
      el.append(h('span', { class: 'keychip', title: `${k}=${v}` }, h('span', { class: 'k', text: k }), h('span', { class: 'v', text: truncate(v, 80) })));
    }
    if (pairs.length > MAX_KEY_CHIPS) el.append(h('span', { class: 'muted', text: `+${pairs.length - MAX_KEY_CHIPS}` }));
    return el;
  }

  async function renderAlerts(main, route, signal) {
    const p = route.params;
    const t = timeOf(p);
    const state = {
      status: ALERT_STATUSES.some(([k]) => k === p.get('status')) ? p.get('status') : 'open',
      level: p.get('level') || '',
      query: p.get('query') || '',
      sort: ALERT_SORTS.some(([k]) => k === p.get('sort')) ? p.get('sort') : 'alert.last_seen',
      offset: Number(p.get('offset')) || 0,
    };
    const nav = (changes) => {
      const s = Object.assign({}, state, changes);
      const n = new URLSearchParams();
      if (s.status !== 'open') n.set('status', s.status);
      if (s.level) n.set('level', s.level);
      if (s.query) n.set('query', s.query);
      if (s.sort !== 'alert.last_seen') n.set('sort', s.sort);
      setTimeParams(n, t);
      if (s.offset) n.set('offset', String(s.offset));
      go('alerts', '', n);
    };

    const statusSel = h('select', { class: 'input', id: 'alert-status', title: 'Status' },
      ALERT_STATUSES.map(([k, label]) => h('option', { value: k, text: label, selected: k === state.status })));
    statusSel.addEventListener('change', () => nav({ status: statusSel.value, offset: 0 }));
    const levelSel = h('select', { class: 'input', id: 'alert-level', title: 'Level' }, h('option', { value: '', text: 'All levels' }),
      LEVELS.concat(state.level && !LEVELS.includes(state.level) ? [state.level] : []).map((l) => h('option', { value: l, text: l, selected: l === state.level })));
    levelSel.addEventListener('change', () => nav({ level: levelSel.value, offset: 0 }));
    const sortSel = h('select', { class: 'input', id: 'alert-sort', title: 'Sort, newest or highest first' },
      ALERT_SORTS.map(([k, label]) => h('option', { value: k, text: 'Sort: ' + label, selected: k === state.sort })));
    sortSel.addEventListener('change', () => nav({ sort: sortSel.value, offset: 0 }));
    const queryInput = h('input', { class: 'input query', id: 'query', value: state.query, placeholder: 'Search alerts: rule.name:*CloudTrail*   ·   tags:attack.persistence   ·   alert.count:>10', spellcheck: false, autocomplete: 'off' });
    const qerr = h('div', { class: 'query-error', id: 'query-error' });
    const desc = h('span', { class: 'desc', id: 'alerts-total' });
    const counts = h('div', { class: 'level-counts', id: 'alert-counts' });
    const tableBox = h('div', { class: 'card', id: 'alerts' }, h('div', { class: 'panel-body' }, spinner()));

    clear(main);
    main.append(
      h('div', { class: 'page-head' }, h('h1', { text: 'Alerts' }), desc),
      h('form', {
        class: 'query-row',
        on: { submit: (e) => { e.preventDefault(); nav({ query: queryInput.value.trim(), offset: 0 }); } },
      }, statusSel, levelSel, queryInput, sortSel, h('button', { class: 'btn primary', type: 'submit', text: 'Search' })),
      qerr);

    const types = await logTypes(signal);
    if (!types.includes(alertLogType())) {
      main.append(h('div', { class: 'card empty', id: 'no-alerts' },
        h('div', { text: 'No alerts are stored yet.' }),
        h('div', { class: 'hint', text: 'Alerts appear here once detection rules run over the logs being loaded (vigil load --rules DIR, or vigil demo).' })));
      return;
    }
    main.append(counts, tableBox);

    const base = timeApiParams(t);
    const statusQ = state.status === 'all' ? '' : clause('alert.status', state.status);
    const listQuery = combine(statusQ, state.level ? clause('alert.level', state.level) : '', state.query);

    // Counts by level: over the status and the query, not the level, so
    // each count says what choosing that level would list.
    const loadCounts = () => api('/api/aggregate', Object.assign({
      kind: 'terms', field: 'alert.level', size: 20, log_type: alertLogType(), query: combine(statusQ, state.query),
    }, base), signal).then((res) => {
      clear(counts);
      const byLevel = new Map(res.buckets.map((b) => [b.key.toLowerCase(), b.count]));
      const total = res.buckets.reduce((n, b) => n + b.count, 0);
      const levels = LEVELS.concat([...byLevel.keys()].filter((l) => !LEVELS.includes(l)));
      const btn = (level, label, n) => h('button', {
        type: 'button', class: 'level-count level-' + (level && LEVELS.includes(level) ? level : level ? 'unknown' : 'all') + (state.level === level ? ' active' : ''),
        data: { level, count: n }, title: level ? `Show only ${label} alerts` : 'Show every level',
        on: { click: () => nav({ level: state.level === level ? '' : level, offset: 0 }) },
      }, h('span', { class: 'num', text: fmtNum(n) }), h('span', { class: 'label', text: label }));
      counts.append(btn('', 'All levels', total), ...levels.map((l) => btn(l, l ? l[0].toUpperCase() + l.slice(1) : '(none)', byLevel.get(l) || 0)));
    }).catch((err) => {
      if (err.name === 'AbortError' || err.status === 400) return;
      clear(counts);
      counts.append(h('div', { class: 'query-error', text: err.message }));
    });
    loadCounts();

    let res;
    try {
      res = await api('/api/alerts', Object.assign({ query: listQuery, sort: state.sort, order: 'desc', size: ALERT_PAGE, offset: state.offset }, base), signal);
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      desc.textContent = '';
      if (err.status === 400) { queryErrorView(qerr, err, listQuery); queryInput.classList.add('bad'); }
      clear(tableBox);
      tableBox.append(h('div', { class: 'panel-body' }, errorState(err)));
      return;
    }
    desc.textContent = `${fmtNum(res.total)} ${state.status === 'all' ? '' : state.status + ' '}alert${res.total === 1 ? '' : 's'} · ${timeLabel(t)}`;
    drawAlerts(tableBox, res, state, nav, t, signal, loadCounts);
  }

  function drawAlerts(box, res, state, nav, t, signal, onStatusChange) {
    clear(box);
    if (!res.hits.length) {
      box.append(h('div', { class: 'empty', id: 'no-hits' },
        h('div', { text: 'No alerts match in this range.' }),
        state.status === 'open' ? h('div', { class: 'hint', text: 'Choose "All statuses" to include acknowledged alerts, or widen the time range.' }) : null));
      return;
    }
    const write = canWriteAlerts();
    const heads = ['', 'Last seen (UTC)', 'Level', 'Rule', 'Count', 'Key fields', 'Status'].concat(write ? [''] : []);
    const colgroup = h('colgroup', null, ['toggle', 'time', 'level', 'rule', 'count', 'keys', 'status'].concat(write ? ['acts'] : []).map((c) => h('col', { class: 'col-' + c })));
    const tbody = h('tbody');
    for (const hit of res.hits) {
      const src = hit._source || {};
      if (!src.alert || typeof src.alert !== 'object') src.alert = {};
      const a = src.alert;
      const rule = src.rule || {};
      const statusCell = h('td', { class: 'status-cell' }, statusBadge(a.status));
      const tr = h('tr', { class: 'alert-row', data: { id: hit._id, rule: rule.name || '', status: a.status || '', level: a.level || '' } },
        h('td', { class: 'muted', text: '▸' }),
        h('td', { class: 'time', text: isoTime(a.last_seen || src['@timestamp']) }),
        h('td', null, levelBadge(a.level)),
        h('td', { class: 'rule' },
          h('span', { class: 'rule-name', text: rule.name || rule.id || '(unnamed rule)', title: rule.name || '' }),
          a.correlation ? h('span', { class: 'tag', text: 'correlation', title: 'Raised by a correlation rule' }) : null),
        h('td', { class: 'n', text: fmtNum(Number(a.count) || 0) }),
        h('td', null, keyChips(alertKeys(a))),
        statusCell);
      let detail = null;
      let detailStatus = null;
      const onChanged = () => {
        tr.dataset.status = a.status;
        clear(statusCell);
        statusCell.append(statusBadge(a.status));
        if (detailStatus) detailStatus.textContent = a.status;
        onStatusChange();
      };
      if (write) tr.append(h('td', { class: 'acts' }, statusButton(hit, onChanged)));
      tr.addEventListener('click', () => {
        if (detail) { detail.remove(); detail = null; detailStatus = null; tr.classList.remove('open'); tr.firstChild.textContent = '▸'; return; }
        const d = alertDetail(hit, t, signal, (f) => nav({ query: combine(state.query, f), offset: 0 }));
        detailStatus = d.status;
        detail = h('tr', { class: 'alert-detail' }, h('td', { attrs: { colspan: String(heads.length) } }, d.el));
        tr.after(detail);
        tr.classList.add('open');
        tr.firstChild.textContent = '▾';
      });
      tbody.append(tr);
    }
    const from = state.offset + 1;
    const to = state.offset + res.hits.length;
    const pager = h('div', { class: 'pager', id: 'pager' },
      h('span', { text: `${fmtNum(from)}–${fmtNum(to)} of ${fmtNum(res.total)}` }),
      h('button', { class: 'btn small', type: 'button', text: '‹ Prev', disabled: state.offset === 0, on: { click: () => nav({ offset: Math.max(0, state.offset - ALERT_PAGE) }) } }),
      h('button', { class: 'btn small', type: 'button', id: 'next-page', text: 'Next ›', disabled: to >= res.total, on: { click: () => nav({ offset: state.offset + ALERT_PAGE }) } }));
    box.append(h('table', { class: 'alerts' }, colgroup, h('thead', null, h('tr', null, heads.map((x) => h('th', { text: x })))), tbody), pager);
  }

  // statusButton acknowledges or reopens an alert through the API and
  // updates hit in place; onChanged redraws what shows the status.
  function statusButton(hit, onChanged) {
    const a = hit._source.alert;
    const btn = h('button', { class: 'btn small status-btn', type: 'button' });
    const sync = () => {
      const ack = a.status === 'acknowledged';
      btn.textContent = ack ? 'Reopen' : 'Acknowledge';
      btn.dataset.next = ack ? 'open' : 'acknowledged';
      btn.title = ack ? 'Set the alert back to open' : 'Mark the alert as seen and handled';
    };
    sync();
    btn.addEventListener('click', async (e) => {
      e.stopPropagation();
      const next = btn.dataset.next;
      btn.disabled = true;
      btn.classList.remove('failed');
      try {
        await apiPost(`/api/alerts/${encodeURIComponent(hit._id)}/status`, { status: next });
        a.status = next;
        onChanged();
      } catch (err) {
        btn.classList.add('failed');
        btn.textContent = 'Failed';
        btn.title = err.message;
        btn.disabled = false;
        return;
      }
      btn.disabled = false;
      sync();
    });
    return btn;
  }

  function tagChips(tags) {
    return h('span', { class: 'tagchips' }, tags.map((x) => h('span', { class: 'tagchip', text: x })));
  }

  // kvTable shows [name, value] rows, leaving out empty values.
  function kvTable(rows, cls) {
    const shown = rows.filter(([, v]) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && !v.length));
    if (!shown.length) return null;
    return h('table', { class: 'kv' + (cls ? ' ' + cls : '') }, h('tbody', null, shown.map(([k, v]) => h('tr', null,
      h('td', { class: 'key', text: k }),
      v instanceof Node ? h('td', { class: 'val' }, v) : h('td', { class: 'val', text: valueText(v) })))));
  }

  function asList(v) {
    if (v === undefined || v === null) return [];
    return (Array.isArray(v) ? v : [v]).filter((x) => x !== null && x !== '' && typeof x !== 'object').map(String);
  }

  // A field name the search language takes without escaping.
  const PLAIN_FIELD = /^[A-Za-z0-9@_.][A-Za-z0-9@_.-]*$/;

  // keyTable lists an alert's key fields (or group-by values) with, for
  // each, a button that lists the alerts with the same value and a link to
  // the logs with it.
  function keyTable(pairs, prefix, t, addFilter) {
    return h('table', { class: 'kv keys' }, h('tbody', null, pairs.map(([k, v]) => {
      const plain = PLAIN_FIELD.test(k);
      return h('tr', { data: { field: k } },
        h('td', { class: 'key', text: k }),
        h('td', { class: 'val', text: v }),
        h('td', { class: 'acts' }, plain ? [
          h('button', { class: 'btn icon small', type: 'button', text: '+', title: 'Alerts with this value', on: { click: () => addFilter(clause(`${prefix}.${k}`, v)) } }),
          h('a', { class: 'logs-link', href: discoverHref(clause(k, v), [], t), text: 'logs ↗', title: 'Search the logs for this value' }),
        ] : null));
    })));
  }

  // alertDetail is the expanded view of one alert: its rule, MITRE ATT&CK
  // mapping, timing, key fields and matched documents. addFilter narrows
  // the alert list. It returns the element and the node showing the
  // status, which the row keeps current.
  function alertDetail(hit, t, signal, addFilter) {
    const src = hit._source || {};
    const a = src.alert || {};
    const rule = src.rule || {};
    const threat = src.threat && typeof src.threat === 'object' ? src.threat : {};
    const tactic = threat.tactic || {};
    const technique = threat.technique || {};
    const section = (title, cls, ...kids) => h('section', { class: 'alert-section ' + cls }, h('h3', { text: title }), ...kids);
    const status = h('span', { text: a.status || '' });

    const mitre = kvTable([
      ['tactics', asList(tactic.name)],
      ['tactic ids', asList(tactic.id)],
      ['techniques', asList(technique.id)],
      ['sub-techniques', asList((technique.subtechnique || {}).id)],
      ['groups', asList(a.mitre_groups)],
      ['software', asList(a.mitre_software)],
    ], 'mitre');
    const dedupWindow = a.window_start || a.window_end ? `${isoTime(a.window_start)} → ${isoTime(a.window_end)}` : '';
    const groups = stringMap(a.group_by);
    let keys = stringMap(a.key_fields);
    // A correlation's key fields are often its group-by fields: show them
    // once.
    if (groups.length && JSON.stringify(keys.slice().sort()) === JSON.stringify(groups.slice().sort())) keys = [];
    const tags = asList(src.tags);

    const el = h('div', { class: 'alert-info' },
      section('Rule', 'rule-info', kvTable([['name', rule.name], ['id', rule.id], ['ruleset', rule.ruleset], ['tags', tags.length ? tagChips(tags) : '']])),
      section('MITRE ATT&CK', 'mitre-info', mitre || h('div', { class: 'muted', text: 'The rule has no ATT&CK tags.' })),
      section('Alert', 'timing-info', kvTable([
        ['first seen', a.first_seen ? isoTime(a.first_seen) + ' UTC' : ''],
        ['last seen', a.last_seen ? isoTime(a.last_seen) + ' UTC' : ''],
        ['matches', a.count],
        ['dedup window', dedupWindow ? dedupWindow + ' UTC' : ''],
        ['status', status],
        ['alert id', a.id || hit._id],
        ['kind', a.correlation ? 'correlation' : 'detection'],
      ])),
      section(groups.length ? 'Group by' : 'Key fields', 'key-info',
        groups.length ? keyTable(groups, 'alert.group_by', t, addFilter)
          : keys.length ? keyTable(keys, 'alert.key_fields', t, addFilter) : h('div', { class: 'muted', text: 'The rule names no key fields.' }),
        groups.length && keys.length ? h('h3', { text: 'Key fields' }) : null,
        groups.length && keys.length ? keyTable(keys, 'alert.key_fields', t, addFilter) : null),
      matchedDocs(a, t, signal));
    return { el, status };
  }

  // matchedDocs lists the documents an alert matched, fetched by their ids,
  // with a link that opens them in Discover.
  function matchedDocs(a, t, signal) {
    const ids = asList(a.doc_ids);
    const dropped = Number(a.doc_ids_dropped) || 0;
    const idsQuery = ids.length ? '_id:(' + ids.map(quoteValue).join(' OR ') + ')' : '';
    const note = h('span', { class: 'muted', text: `${fmtNum(ids.length)} kept` + (dropped ? `, ${fmtNum(dropped)} more not kept (the alert keeps at most ${fmtNum(ids.length)} ids)` : '') });
    const body = h('div', { class: 'matched-body' });
    const el = h('section', { class: 'alert-section matched' },
      h('div', { class: 'matched-head' },
        h('h3', { text: 'Matched documents' }), note,
        h('span', { class: 'spacer' }),
        ids.length ? h('a', { class: 'matched-discover', href: discoverHref(idsQuery, [], { since: 'all' }), text: 'Open in Discover ↗', title: 'Search these documents by id' }) : null),
      body);
    if (!ids.length) { body.append(h('div', { class: 'muted', text: 'The alert lists no document ids.' })); return el; }
    body.append(h('div', { class: 'muted', text: 'Loading…' }));
    const toDiscover = (f) => {
      const n = new URLSearchParams();
      n.append('filter', f);
      setTimeParams(n, t);
      go('discover', '', n);
    };
    api('/api/search', { query: idsQuery, size: Math.min(ids.length, 10000), order: 'asc' }, signal).then((res) => {
      clear(body);
      if (res.hits.length < ids.length) {
        body.append(h('div', { class: 'hint', text: `${fmtNum(ids.length - res.hits.length)} of the ${fmtNum(ids.length)} documents are no longer in the store.` }));
      }
      if (!res.hits.length) return;
      const tbody = h('tbody');
      for (const hit of res.hits) {
        const tr = h('tr', { class: 'doc', data: { id: hit._id } },
          h('td', { class: 'muted', text: '▸' }),
          h('td', { class: 'time', text: fmtTime(hit.timestamp_ms) }),
          h('td', { class: 'mono', text: hit.log_type }),
          h('td', null, summaryOf(hit._source || {})));
        let detail = null;
        tr.addEventListener('click', () => {
          if (detail) { detail.remove(); detail = null; tr.classList.remove('open'); tr.firstChild.textContent = '▸'; return; }
          detail = h('tr', { class: 'detail' }, h('td', { attrs: { colspan: '4' } }, docDetail(hit, toDiscover)));
          tr.after(detail);
          tr.classList.add('open');
          tr.firstChild.textContent = '▾';
        });
        tbody.append(tr);
      }
      body.append(h('table', { class: 'docs matched-docs' },
        h('colgroup', null, h('col', { class: 'toggle' }), h('col', { class: 'time' }), h('col', { class: 'logtype' }), h('col')),
        h('thead', null, h('tr', null, h('th'), h('th', { text: 'Time (UTC)' }), h('th', { text: 'Log type' }), h('th', { text: 'Document' }))),
        tbody));
    }).catch((err) => {
      if (err.name === 'AbortError') return;
      clear(body);
      body.append(h('div', { class: 'query-error', text: err.message }));
    });
    return el;
  }

  // ---------------------------------------------------------------- indices

  async function renderIndices(main, route, signal) {
    const res = await api('/api/indices', {}, signal);
    clear(main);
    main.append(h('div', { class: 'page-head' },
      h('h1', { text: 'Indices' }),
      h('span', { class: 'desc', text: `${fmtNum(res.docs)} documents · ${fmtBytes(res.bytes)}` })));
    if (!res.indices.length) {
      main.append(h('div', { class: 'card empty', text: 'The store is empty: load logs into it first.' }));
      return;
    }
    main.append(h('div', { class: 'card' }, h('table', { class: 'list', id: 'indices' },
      h('thead', null, h('tr', null, ['Index', 'Log type', 'Documents', 'Size', 'Oldest (UTC)', 'Newest (UTC)'].map((c, i) => h('th', { class: i >= 2 && i <= 3 ? 'n' : '', text: c })))),
      h('tbody', null, res.indices.map((i) => h('tr', null,
        h('td', { class: 'mono' }, h('a', { href: discoverHref('', [i.log_type], { from: i.min_timestamp_ms, to: i.max_timestamp_ms + 1 }), text: i.name })),
        h('td', { text: i.log_type }),
        h('td', { class: 'n', text: fmtNum(i.docs) }),
        h('td', { class: 'n', text: fmtBytes(i.bytes) }),
        h('td', { class: 'mono', text: i.min_timestamp_ms ? fmtTime(i.min_timestamp_ms) : '' }),
        h('td', { class: 'mono', text: i.max_timestamp_ms ? fmtTime(i.max_timestamp_ms) : '' })))))));
  }

  // ---------------------------------------------------------------- router

  let current = null; // AbortController of the view on screen

  async function render() {
    if (current) current.abort();
    const ctl = new AbortController();
    current = ctl;
    disposeCharts();
    const route = parseRoute();
    document.body.dataset.route = location.hash;
    for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.nav === route.view);
    renderTimePicker(route);
    const main = document.getElementById('main');
    clear(main);
    main.append(h('div', { class: 'empty' }, h('div', { class: 'spinner' })));
    document.body.dataset.view = route.view;
    try {
      if (route.view === 'discover') await renderDiscover(main, route, ctl.signal);
      else if (route.view === 'dashboards' && route.arg) await renderDashboard(main, route, ctl.signal);
      else if (route.view === 'dashboards') await renderDashboardList(main, route, ctl.signal);
      else if (route.view === 'alerts') await renderAlerts(main, route, ctl.signal);
      else if (route.view === 'indices') await renderIndices(main, route, ctl.signal);
      else { clear(main); main.append(h('div', { class: 'banner', text: 'Unknown page.' })); }
    } catch (err) {
      if (err.name === 'AbortError') return;
      clear(main);
      main.append(h('div', { class: 'banner', text: err.message }));
    }
  }

  async function start() {
    try {
      health = await api('/api/health', {});
      const parts = [`Vigil ${health.version || ''}`.trim(), `${fmtNum(health.docs || 0)} documents`];
      if (health.read_only) parts.push('read-only');
      document.getElementById('footer-status').textContent = parts.join(' · ');
    } catch (err) {
      document.getElementById('footer-status').textContent = 'Store unavailable: ' + err.message;
    }
    document.getElementById('refresh').addEventListener('click', () => { logTypesCache = null; render(); });
    document.addEventListener('click', (e) => {
      const pop = document.querySelector('.popover');
      if (pop && !e.target.closest('.timepicker')) pop.remove();
    });
    window.addEventListener('hashchange', render);
    if (!window.echarts) {
      const main = document.getElementById('main');
      clear(main);
      main.append(h('div', { class: 'banner', text: 'The chart library did not load.' }));
      return;
    }
    render();
  }

  start();
})();
