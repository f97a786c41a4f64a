// Bucketflow dashboard: a hash-routed page over the admin API (README "Admin API").
// No build step; charts by ECharts (WebJar). Every value from the API is put in the page as text
// (textContent), never as HTML.
'use strict';

const app = document.getElementById('app');
const charts = [];

// ------------------------------------------------------------------ helpers

/** Element builder: h('td', {class: 'num'}, 'text', child, ...). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path, options) {
  const res = await fetch(path, options);
  let body = null;
  try { body = await res.json(); } catch (e) { body = { error: 'not_json', message: 'HTTP ' + res.status }; }
  if (!res.ok) {
    const err = new Error(body.message || ('HTTP ' + res.status));
    err.body = body;
    err.status = res.status;
    throw err;
  }
  return body;
}

function token() { return sessionStorage.getItem('bucketflow-token') || ''; }

async function mutate(method, path, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (token()) headers.Authorization = 'Bearer ' + token();
  return api(path, { method, headers, body: body === undefined ? '' : JSON.stringify(body) });
}

function fmtTime(iso) {
  if (!iso) return '';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.round(seconds);
  if (s < 120) return s + ' s';
  if (s < 7200) return Math.round(s / 60) + ' min';
  if (s < 172800) return (s / 3600).toFixed(1) + ' h';
  return (s / 86400).toFixed(1) + ' d';
}

/** Replaces the page's content; null/undefined parts are skipped (DOM would print "null"). */
function render(...nodes) {
  app.replaceChildren(...nodes.flat().filter(n => n !== null && n !== undefined));
}

/** ISO-8601 durations as the API writes them (PT168H, P30D, PT90S) in words: "7 d", "30 d", "90 s". */
function fmtIsoDuration(iso) {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(iso || '');
  if (!m) return iso;
  const s = (+(m[1] || 0)) * 86400 + (+(m[2] || 0)) * 3600 + (+(m[3] || 0)) * 60 + (+(m[4] || 0));
  if (s % 86400 === 0) return s / 86400 + ' d';
  if (s % 3600 === 0) return s / 3600 + ' h';
  if (s % 60 === 0) return s / 60 + ' min';
  return s + ' s';
}

function pill(text, cls) { return h('span', { class: 'pill ' + (cls || text) }, text); }

function showError(e) {
  render(h('div', { class: 'card error', id: 'error' }, (e.body && e.body.error ? e.body.error + ': ' : '') + e.message));
}

function disposeCharts() {
  while (charts.length) charts.pop().dispose();
}

function chart(el, option) {
  const c = echarts.init(el, null, { renderer: 'canvas' });
  c.setOption(option);
  charts.push(c);
  return c;
}

function backfillCell(b) {
  if (!b) return h('span', { class: 'muted' }, '—');
  const total = b.total || 0;
  const pct = total > 0 ? Math.min(100, Math.round(100 * b.processed / total)) : (b.status === 'completed' ? 100 : 0);
  return h('span', { title: b.kind + ' ' + b.status + ': ' + b.processed + ' of ' + total },
    h('span', { class: 'progress' }, h('i', { style: 'width:' + pct + '%' })), ' ', b.status, ' ', pct + '%');
}

// ------------------------------------------------------------------ pages

async function bucketsPage() {
  const { buckets } = await api('/api/buckets');
  const rows = buckets.map(b => h('tr', { class: 'clickable', dataset: { bucket: b.id },
      onclick: () => { location.hash = '#/bucket/' + encodeURIComponent(b.id); } },
    h('td', {}, h('a', { href: '#/bucket/' + encodeURIComponent(b.id) }, b.id), h('div', { class: 'muted' }, b.name || '')),
    h('td', { class: 'num size' }, b.size),
    h('td', { class: 'num entered' }, b.entered),
    h('td', { class: 'num left' }, b.left),
    h('td', { class: 'num dwell' }, fmtDuration(b.avgDwellSeconds)),
    h('td', { class: 'enabled' }, b.enabled ? pill('on') : pill('off')),
    h('td', { class: 'backfill' }, backfillCell(b.backfill)),
    h('td', {}, h('div', { class: 'spark', dataset: { spark: b.id } }))));
  render(
    h('h1', {}, 'Buckets'),
    h('table', { id: 'buckets-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Bucket'), h('th', { class: 'num' }, 'Size'), h('th', { class: 'num' }, 'Entered'),
        h('th', { class: 'num' }, 'Left'), h('th', { class: 'num' }, 'Avg dwell'), h('th', {}, 'Enabled'),
        h('th', {}, 'Backfill'), h('th', {}, 'Size, 14 days'))),
      h('tbody', {}, rows)),
    h('p', { id: 'latency', class: 'muted' }));
  // Event->transition latency (signal receipt to commit), where this server publishes metrics.
  api('/api/latency').then(l => {
    const el = app.querySelector('#latency');
    const t = l.eventToTransition;
    const s = v => v == null ? '–' : (v < 1 ? (v * 1000).toFixed(0) + ' ms' : v.toFixed(2) + ' s');
    if (el) el.textContent = 'Event → transition latency (last minute): p50 ' + s(t.p50Seconds) + ', p99 ' +
        s(t.p99Seconds) + ' · ' + t.count + ' transitioning events since start';
  }).catch(() => {});
  // Sparklines after the table is in place (ECharts needs the element's size).
  for (const b of buckets) {
    api('/api/buckets/' + encodeURIComponent(b.id) + '/trend?interval=day&from=' +
        new Date(Date.now() - 14 * 86400e3).toISOString()).then(t => {
      const el = app.querySelector('[data-spark="' + CSS.escape(b.id) + '"]');
      if (!el) return;
      chart(el, {
        animation: false, grid: { left: 2, right: 2, top: 4, bottom: 4 },
        xAxis: { type: 'category', show: false, data: t.points.map(p => p.at) },
        yAxis: { type: 'value', show: false, min: 0 },
        tooltip: { trigger: 'axis', formatter: ps => fmtTime(ps[0].name).slice(0, 10) + ': ' + ps[0].value },
        series: [{ type: 'line', data: t.points.map(p => p.size), symbol: 'none', areaStyle: { opacity: .15 }, lineStyle: { width: 1.5 } }]
      });
    }).catch(() => {});
  }
}

/** Criteria rendered as a readable nested list. */
function criteriaNode(c) {
  if (!c) return h('span', { class: 'muted' }, 'manual bucket: no criteria');
  if (c.type === 'composite') {
    return h('div', {}, h('span', { class: 'op' }, c.operator === 'and' ? 'all of' : 'any of'),
      h('ul', {}, c.conditions.map(x => h('li', {}, criteriaNode(x)))));
  }
  return h('span', {}, describeLeaf(c));
}

function describeLeaf(c) {
  if (c.type === 'property') {
    const v = c.value === undefined ? '' : ' ' + JSON.stringify(c.value);
    return 'property ' + c.property + ' ' + c.operator + v;
  }
  const within = c.within ? ' within ' + fmtIsoDuration(c.within) : ' (all time)';
  if (c.check === 'count') {
    return 'count of ' + c.eventName + (c.operator ? ' ' + c.operator + ' ' + c.value : ' > 0') + within;
  }
  return c.eventName + ' ' + c.check.replace('_', ' ') + within;
}

async function bucketPage(id) {
  const b = await api('/api/buckets/' + encodeURIComponent(id));
  const state = { interval: 'day', status: 'active', q: '', cursors: [null] };
  const trendEl = h('div', { class: 'chart', id: 'trend-chart' });
  const trendSummary = h('p', { id: 'trend-summary', class: 'muted' });
  const membersBody = h('tbody', {});
  const pageInfo = h('span', { class: 'muted', id: 'members-page' });
  const nextBtn = h('button', { id: 'members-next', type: 'button' }, 'Next page');
  const prevBtn = h('button', { id: 'members-prev', type: 'button' }, 'Previous');
  const message = h('p', { id: 'mutation-message', class: 'muted' });

  const toggle = h('button', { id: 'toggle-enabled', type: 'button', onclick: async () => {
    try {
      const r = await mutate('PATCH', '/api/buckets/' + encodeURIComponent(id), { enabled: !b.enabled });
      b.enabled = r.enabled;
      toggle.textContent = b.enabled ? 'Disable' : 'Enable';
      message.textContent = 'Bucket is now ' + (b.enabled ? 'enabled' : 'disabled') + ' (workers follow within their switch TTL).';
    } catch (e) { message.textContent = e.message; message.className = 'error'; }
  } }, b.enabled ? 'Disable' : 'Enable');
  const backfill = h('button', { id: 'run-backfill', type: 'button', onclick: async () => {
    try {
      const r = await mutate('POST', '/api/buckets/' + encodeURIComponent(id) + '/backfill');
      message.textContent = 'Started ' + r.kind + ' backfill ' + r.workflowId + '.';
    } catch (e) { message.textContent = e.message; message.className = 'error'; }
  } }, 'Run backfill');

  render(
    h('h1', { id: 'bucket-title' }, b.name ? b.name + ' ' : '', h('span', { class: 'muted' }, b.id)),
    h('div', { class: 'card stats' },
      h('div', {}, h('b', { id: 'stat-size' }, b.size), 'members'),
      h('div', {}, h('b', { id: 'stat-entered' }, b.entered), 'entered'),
      h('div', {}, h('b', { id: 'stat-left' }, b.left), 'left'),
      h('div', {}, h('b', {}, fmtDuration(b.avgDwellSeconds)), 'average dwell'),
      h('div', {}, h('b', {}, b.enabled ? pill('on') : pill('off')), 'enabled'),
      h('div', {}, h('b', {}, backfillCell(b.backfill)), 'backfill')),
    b.description ? h('p', {}, b.description) : null,
    h('div', { class: 'card' },
      h('div', { class: 'toolbar' }, h('strong', {}, 'Trend'),
        h('select', { id: 'trend-interval', onchange: e => { state.interval = e.target.value; loadTrend(); } },
          h('option', { value: 'day' }, 'by day, 30 days'), h('option', { value: 'hour' }, 'by hour, 48 hours'))),
      trendEl, trendSummary),
    h('div', { class: 'card' },
      h('h2', {}, 'Definition'),
      h('div', { class: 'criteria', id: 'definition' }, criteriaNode(b.criteria)),
      h('p', { class: 'muted' }, 'entry limit ' + b.settings.entryLimit +
        (b.settings.entryPeriod ? ' per ' + fmtIsoDuration(b.settings.entryPeriod) : '') +
        (b.settings.minDwell ? ' · min dwell ' + fmtIsoDuration(b.settings.minDwell) : '') +
        (b.settings.maxDwell ? ' · max dwell ' + fmtIsoDuration(b.settings.maxDwell) : '') +
        ' · time-based ' + b.settings.timeBased + ' · fast expiry ' + b.settings.fastExpiry),
      h('details', {}, h('summary', {}, 'JSON'), h('pre', {}, JSON.stringify(b.definition, null, 2))),
      h('h2', {}, 'Journeys fed'),
      b.journeys.length === 0 ? h('p', { class: 'muted', id: 'journeys' }, 'none')
        : h('ul', { id: 'journeys' }, b.journeys.map(j => h('li', {}, h('strong', {}, j.id), ' — starts on ', h('code', {}, j.triggerEvent),
          j.exitOn.length ? [' , exits on ', h('code', {}, j.exitOn.join(', '))] : '', ' (' + j.workflowType + ')'))),
      h('div', { class: 'toolbar' }, toggle, backfill), message),
    h('div', { class: 'card' },
      h('h2', {}, 'Members'),
      h('div', { class: 'toolbar' },
        h('select', { id: 'members-status', onchange: e => { state.status = e.target.value; state.cursors = [null]; loadMembers(); } },
          h('option', { value: 'active' }, 'active'), h('option', { value: 'left' }, 'left'), h('option', { value: 'all' }, 'all')),
        h('form', { onsubmit: e => { e.preventDefault(); state.q = e.target.elements.q.value; state.cursors = [null]; loadMembers(); } },
          h('input', { id: 'members-search', name: 'q', type: 'search', placeholder: 'user id starts with…' }), ' ',
          h('button', { type: 'submit' }, 'Search')),
        prevBtn, nextBtn, pageInfo),
      h('table', { id: 'members-table' },
        h('thead', {}, h('tr', {}, ['User', 'Status', 'Entered', 'Left', 'Expires', 'Entry #', 'Source', 'Leave reason'].map(t => h('th', {}, t)))),
        membersBody)),
    h('div', { class: 'card' },
      h('h2', {}, 'Newest transitions'),
      h('table', { id: 'transitions-table' },
        h('thead', {}, h('tr', {}, ['When', 'User', 'Kind', 'Epoch', 'Source', 'Dispatched', 'Parked'].map(t => h('th', {}, t)))),
        h('tbody', {}, b.transitions.map(t => h('tr', {},
          h('td', {}, fmtTime(t.createdAt)), h('td', {}, userLink(t.userId, id)), h('td', {}, pill(t.kind, t.kind === 'entered' ? 'on' : 'off')),
          h('td', { class: 'num' }, t.epoch), h('td', {}, t.source), h('td', {}, fmtTime(t.dispatchedAt)),
          h('td', { title: t.lastError || '' }, t.parkedAt ? fmtTime(t.parkedAt) + ' after ' + t.attempts + ' attempts' : '')))))));

  prevBtn.onclick = () => { if (state.cursors.length > 1) { state.cursors.pop(); loadMembers(); } };
  nextBtn.onclick = () => { if (state.next) { state.cursors.push(state.next); loadMembers(); } };

  async function loadTrend() {
    const t = await api('/api/buckets/' + encodeURIComponent(id) + '/trend?interval=' + state.interval);
    disposeCharts();
    const c = chart(trendEl, {
      animation: false,
      tooltip: { trigger: 'axis' },
      legend: { data: ['entered', 'left', 'size'] },
      grid: { left: 50, right: 50, top: 40, bottom: 30 },
      xAxis: { type: 'category', data: t.points.map(p => fmtTime(p.at).slice(0, state.interval === 'day' ? 10 : 16)) },
      yAxis: [{ type: 'value', name: 'moves', minInterval: 1 }, { type: 'value', name: 'size', minInterval: 1 }],
      series: [
        { name: 'entered', type: 'bar', data: t.points.map(p => p.entered), itemStyle: { color: '#2b8a3e' } },
        { name: 'left', type: 'bar', data: t.points.map(p => p.left), itemStyle: { color: '#c92a2a' } },
        { name: 'size', type: 'line', yAxisIndex: 1, data: t.points.map(p => p.size), itemStyle: { color: '#3b5bdb' } }
      ]
    });
    trendEl.dataset.points = t.points.length;
    const sum = k => t.points.reduce((a, p) => a + p[k], 0);
    const last = t.points.length ? t.points[t.points.length - 1].size : 0;
    trendSummary.textContent = 'In range: ' + sum('entered') + ' entered, ' + sum('left') + ' left; size at the end: ' + last + '.';
    return c;
  }

  async function loadMembers() {
    const after = state.cursors[state.cursors.length - 1];
    const q = '/api/buckets/' + encodeURIComponent(id) + '/members?limit=25&status=' + state.status +
      (state.q ? '&q=' + encodeURIComponent(state.q) : '') + (after ? '&after=' + encodeURIComponent(after) : '');
    const page = await api(q);
    state.next = page.next;
    membersBody.replaceChildren(...page.members.map(m => h('tr', { dataset: { user: m.userId } },
      h('td', {}, userLink(m.userId, id)), h('td', {}, pill(m.status)), h('td', {}, fmtTime(m.enteredAt)),
      h('td', {}, fmtTime(m.leftAt)), h('td', {}, fmtTime(m.expiresAt)), h('td', { class: 'num' }, m.entryCount),
      h('td', {}, m.source), h('td', {}, m.leaveReason || ''))));
    if (page.members.length === 0) membersBody.append(h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'no members')));
    nextBtn.disabled = !page.next;
    prevBtn.disabled = state.cursors.length <= 1;
    pageInfo.textContent = 'page ' + state.cursors.length + ' · ' + page.members.length + ' shown';
  }

  await Promise.all([loadTrend(), loadMembers()]);
}

function userLink(userId, bucketId) {
  return h('a', { href: '#/user/' + encodeURIComponent(userId) + (bucketId ? '?bucket=' + encodeURIComponent(bucketId) : '') }, userId);
}

/** One node of an explain tree, with its result mark and what was observed. */
function explainNode(n) {
  const o = n.observed || {};
  let observed = '';
  if (n.type === 'property') observed = o.present ? 'value ' + JSON.stringify(o.value) : 'absent';
  if (n.type === 'event') {
    observed = 'count ' + o.count + (n.within ? ' in window' : '') + ' · all time ' + o.allTimeCount +
      ' · newest ' + (o.newestAt ? fmtTime(o.newestAt) : 'never');
  }
  const label = n.type === 'composite' ? h('span', { class: 'op' }, n.operator === 'and' ? 'all of' : 'any of') : describeLeaf(n);
  return h('li', { class: String(n.result), dataset: { type: n.type, result: String(n.result) } },
    h('span', { class: 'node' }, h('span', { class: 'mark' }, n.result ? '✓' : '✗'), label,
      observed ? h('span', { class: 'observed' }, '— observed: ', observed) : null),
    n.type === 'composite' ? h('ul', {}, n.conditions.map(explainNode)) : null);
}

async function userPage(userId, params) {
  const [u, { buckets }] = await Promise.all([api('/api/users/' + encodeURIComponent(userId)), api('/api/buckets')]);
  const chosen = params.get('bucket') || (u.memberships[0] && u.memberships[0].bucketId) || (buckets[0] && buckets[0].id);
  const explainEl = h('div', { id: 'explain' });
  const select = h('select', { id: 'explain-bucket', onchange: e => loadExplain(e.target.value) },
    buckets.map(b => h('option', { value: b.id, selected: b.id === chosen }, b.id)));
  const timelineEl = h('div', { class: 'timeline', id: 'memberships-timeline' });

  render(
    h('h1', { id: 'user-title' }, 'User ', h('code', {}, u.userId), u.deleted ? [' ', pill('deleted', 'off')] : null),
    h('div', { class: 'card' },
      h('p', {}, u.email ? 'email ' + u.email + ' · ' : '', u.exists ? 'first seen ' + fmtTime(u.createdAt) + ' · updated ' + fmtTime(u.updatedAt) : 'no contact row'),
      h('h2', {}, 'Properties'), h('pre', { id: 'user-properties' }, JSON.stringify(u.properties, null, 2))),
    h('div', { class: 'card' },
      h('div', { class: 'toolbar' }, h('h2', {}, 'Why (not) in '), select),
      explainEl),
    h('div', { class: 'card' },
      h('h2', {}, 'Memberships'), timelineEl,
      h('table', { id: 'memberships-table' },
        h('thead', {}, h('tr', {}, ['Bucket', 'Status', 'Entered', 'Left', 'Expires', 'Entry #', 'Source', 'Leave reason'].map(t => h('th', {}, t)))),
        h('tbody', {}, u.memberships.map(m => h('tr', { dataset: { bucket: m.bucketId } },
          h('td', {}, h('a', { href: '#/bucket/' + encodeURIComponent(m.bucketId) }, m.bucketId)), h('td', {}, pill(m.status)),
          h('td', {}, fmtTime(m.enteredAt)), h('td', {}, fmtTime(m.leftAt)), h('td', {}, fmtTime(m.expiresAt)),
          h('td', { class: 'num' }, m.entryCount), h('td', {}, m.source), h('td', {}, m.leaveReason || '')))))),
    h('div', { class: 'card' },
      h('h2', {}, 'Transitions'),
      h('table', { id: 'user-transitions' }, h('tbody', {}, u.transitions.map(t => h('tr', {},
        h('td', {}, fmtTime(t.createdAt)), h('td', {}, t.bucketId), h('td', {}, pill(t.kind, t.kind === 'entered' ? 'on' : 'off')),
        h('td', {}, t.source))))),
      h('h2', {}, 'Journeys'),
      u.journeys.length === 0 ? h('p', { class: 'muted', id: 'user-journeys' }, 'none')
        : h('table', { id: 'user-journeys' }, h('tbody', {}, u.journeys.map(j => h('tr', {},
          h('td', {}, j.journeyId), h('td', {}, pill(j.status, j.status === 'running' ? 'on' : '')), h('td', {}, fmtTime(j.startedAt)),
          h('td', {}, fmtTime(j.endedAt)), h('td', {}, h('code', {}, j.workflowId)))))),
      h('h2', {}, 'Rejected events'),
      u.rejectedEvents.length === 0 ? h('p', { class: 'muted' }, 'none')
        : h('table', { id: 'user-rejected' }, h('tbody', {}, u.rejectedEvents.map(r => h('tr', {},
          h('td', {}, fmtTime(r.receivedAt)), h('td', {}, pill(r.reason, 'off')), h('td', {}, r.detail || ''),
          h('td', {}, h('code', {}, (r.payload || '').slice(0, 200)))))))));

  // Memberships timeline: one bar per stay (an active stay runs to now).
  if (u.memberships.length) {
    const ids = [...new Set(u.memberships.map(m => m.bucketId))];
    const now = Date.now();
    chart(timelineEl, {
      animation: false,
      tooltip: { formatter: p => p.data.label },
      grid: { left: 130, right: 20, top: 10, bottom: 30 },
      xAxis: { type: 'time' },
      yAxis: { type: 'category', data: ids },
      series: [{
        type: 'custom',
        renderItem: (params, api2) => {
          const y = api2.coord([0, api2.value(0)])[1];
          const start = api2.coord([api2.value(1), 0])[0];
          const end = Math.max(start + 3, api2.coord([api2.value(2), 0])[0]);
          const height = api2.size([0, 1])[1] * 0.5;
          return { type: 'rect', shape: { x: start, y: y - height / 2, width: end - start, height },
            style: { fill: api2.value(3) ? '#3b5bdb' : '#adb5bd' } };
        },
        encode: { x: [1, 2], y: 0 },
        data: u.memberships.map(m => ({
          value: [ids.indexOf(m.bucketId), Date.parse(m.enteredAt), m.leftAt ? Date.parse(m.leftAt) : now, m.status === 'active' ? 1 : 0],
          label: m.bucketId + ': ' + fmtTime(m.enteredAt) + ' → ' + (m.leftAt ? fmtTime(m.leftAt) : 'now')
        }))
      }]
    });
  } else {
    timelineEl.replaceWith(h('p', { class: 'muted' }, 'no memberships'));
  }

  async function loadExplain(bucketId) {
    try {
      const e = await api('/api/buckets/' + encodeURIComponent(bucketId) + '/explain/' + encodeURIComponent(userId));
      explainEl.replaceChildren(
        h('p', { id: 'explain-verdict' },
          e.member ? pill('member', 'on') : pill('not a member', 'off'), ' ',
          e.matches === null ? 'manual bucket' : (e.matches ? 'criteria match now' : 'criteria do not match now'),
          e.expiresAt ? ' · expires ' + fmtTime(e.expiresAt) : '',
          e.nextFlipAt ? ' · would stop matching at ' + fmtTime(e.nextFlipAt) : '',
          h('span', { class: 'muted' }, ' · evaluated ' + fmtTime(e.evaluatedAt))),
        e.criteria ? h('ul', { class: 'criteria explain', id: 'explain-tree' }, explainNode(e.criteria)) : h('p', { class: 'muted' }, e.note || ''));
    } catch (err) {
      explainEl.replaceChildren(h('p', { class: 'error' }, err.message));
    }
  }
  if (chosen) await loadExplain(chosen);
}

function previewPage() {
  const text = h('textarea', { id: 'preview-definition', spellcheck: 'false' }, JSON.stringify({
    id: 'my-preview', criteria: { type: 'event', eventName: 'app.active', check: 'exists', within: { days: 7 } }
  }, null, 2));
  const out = h('div', { id: 'preview-result' });
  render(
    h('h1', {}, 'Preview a bucket'),
    h('p', { class: 'muted' }, 'Paste a bucket definition: see its problems, or the size it would have now. Nothing is saved.'),
    h('form', { onsubmit: async e => {
      e.preventDefault();
      out.replaceChildren(h('p', { class: 'muted' }, 'Counting…'));
      try {
        let body;
        try { body = JSON.parse(text.value); } catch (err) { out.replaceChildren(h('p', { class: 'error' }, 'Not JSON: ' + err.message)); return; }
        const r = await api('/api/preview', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
        out.replaceChildren(h('p', {}, h('b', { id: 'preview-count' }, r.count), ' users would be members now.'),
          h('p', { class: 'muted' }, 'Sample: '), h('ul', {}, r.sample.map(u => h('li', {}, userLink(u)))));
      } catch (err) {
        if (err.body && err.body.problems) {
          out.replaceChildren(h('ul', { class: 'problems' }, err.body.problems.map(p => h('li', {}, p.path + ': ' + p.message))));
        } else {
          out.replaceChildren(h('p', { class: 'error' }, err.message));
        }
      }
    } }, text, h('p', {}, h('button', { class: 'primary', type: 'submit', id: 'preview-run' }, 'Preview'))),
    out);
}

// ------------------------------------------------------------------ routing

async function route() {
  disposeCharts();
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean);
  try {
    if (parts.length === 0) await bucketsPage();
    else if (parts[0] === 'bucket' && parts[1]) await bucketPage(decodeURIComponent(parts[1]));
    else if (parts[0] === 'user' && parts[1]) await userPage(decodeURIComponent(parts.slice(1).join('/')), params);
    else if (parts[0] === 'preview') previewPage();
    else render(h('p', { class: 'error' }, 'no such page'));
    document.body.dataset.page = parts[0] || 'buckets';
  } catch (e) {
    showError(e);
    document.body.dataset.page = 'error';
  }
}

document.getElementById('user-search').addEventListener('submit', e => {
  e.preventDefault();
  const v = document.getElementById('user-search-input').value.trim();
  if (v) location.hash = '#/user/' + encodeURIComponent(v);
});
const tokenInput = document.getElementById('token-input');
tokenInput.value = token();
tokenInput.addEventListener('change', () => sessionStorage.setItem('bucketflow-token', tokenInput.value.trim()));
window.addEventListener('hashchange', route);
window.addEventListener('resize', () => charts.forEach(c => c.resize()));
route();
