// 播出记录: the as-run table with date and zone filters, CSV exports, and the compliance report
// with a bar chart (planned, aired and hardware-confirmed minutes per zone per day).

import { api, live, zoneNames } from './api.js';
import { $, OUTCOME, SOURCE, addDays, badge, clear, el, svg, table, wallDate, wallDateTime, wallTime } from './ui.js';

const SERIES = [
  ['planned_min', '计划', 'bar-planned'],
  ['aired_min', '实际播出', 'bar-aired'],
  ['confirmed_min', '设备确认', 'bar-confirmed'],
];

let rows = [];
let report = [];

export function show() {
  const today = live.status ? wallDate(live.status.now) : new Date().toISOString().slice(0, 10);
  if (!$('rec-from').value) $('rec-from').value = addDays(today, -6);
  if (!$('rec-to').value) $('rec-to').value = today;
  fillZones();
  load();
}

function fillZones() {
  const select = $('rec-zone');
  const chosen = select.value;
  const names = zoneNames();
  if (select.options.length - 1 === names.size) return;
  clear(select).append(
    el('option', { value: '', text: '全部区域' }),
    ...[...names].map(([id, name]) => el('option', { value: id, text: name })),
  );
  select.value = chosen;
}

function range() {
  const from = $('rec-from').value;
  const to = $('rec-to').value || from;
  return { from, to };
}

async function load() {
  const { from, to } = range();
  if (from && to && to < from) {
    clear($('rec-table')).append(el('p', { class: 'error', text: '结束日期不能早于开始日期' }));
    return;
  }
  const query = new URLSearchParams();
  if (from) query.set('from', from);
  if (to) query.set('to', to);
  $('rec-csv').href = `/api/asrun?${query}&format=csv`;
  $('rep-csv').href = `/api/reports/compliance?${query}&format=csv`;
  try {
    [rows, report] = await Promise.all([
      api('GET', `/api/asrun?${query}`),
      api('GET', `/api/reports/compliance?${query}`),
    ]);
    render();
  } catch (err) {
    clear($('rec-table')).append(el('p', { class: 'error', text: `无法获取记录：${err.message}` }));
    clear($('rep-chart'));
    clear($('rep-table'));
  }
}

function render() {
  const zone = $('rec-zone').value;
  const names = zoneNames();
  const shown = rows.filter((r) => !zone || r.zone === zone);
  const box = clear($('rec-table'));
  if (!shown.length) {
    box.append(el('p', { class: 'muted', text: '这段时间没有播出记录' }));
  } else {
    box.append(
      table(
        ['计划时间', '时段', '区域', '结果', '实际播出', '喇叭继电器', '说明'],
        shown.map((r) => [
          `${wallDateTime(r.planned_start)}–${wallTime(r.planned_end)}`,
          el('span', {}, r.slot, r.source && r.source !== 'schedule' ? [' ', badge(SOURCE[r.source] || r.source, r.source === 'emergency' ? 'danger' : 'warn')] : null,
            r.exercise ? [' ', badge('演练', 'exercise')] : null),
          names.get(r.zone) || r.zone,
          r.outcome ? badge(OUTCOME[r.outcome] || r.outcome, outcomeKind(r.outcome)) : badge('进行中', 'info'),
          r.audio_start ? `${wallTime(r.audio_start)}–${r.audio_end ? wallTime(r.audio_end) : '…'}` : '—',
          relayText(r.relay_on),
          r.reason || '',
        ]),
      ),
    );
  }
  const items = report.filter((z) => !zone || z.zone === zone);
  renderChart(items, names);
  const repBox = clear($('rep-table'));
  if (items.length) {
    repBox.append(
      table(
        ['日期', '区域', '计划（分钟）', '实播（分钟）', '设备确认（分钟）', '损失（分钟）', '原因'],
        items.map((z) => [
          z.date,
          names.get(z.zone) || z.zone,
          minutes(z.planned_min),
          minutes(z.aired_min),
          minutes(z.confirmed_min),
          minutes(z.lost_min),
          lostText(z),
        ]),
      ),
    );
  }
}

function minutes(value) {
  return typeof value === 'number' ? value.toFixed(1) : '—';
}

function lostText(z) {
  const parts = Object.entries(z.lost || {}).map(([k, v]) => `${OUTCOME[k] || k} ${minutes(v)}`);
  const reasons = (z.reasons || []).map((r) => String(r).split(' / ')[0]);
  return [...parts, ...reasons].join('；');
}

function relayText(state) {
  return { confirmed: '已确认', commanded: '已发指令（设备无法回报）', failed: '失败', off: '关' }[state] || state || '—';
}

function outcomeKind(outcome) {
  if (outcome === 'aired' || outcome === 'joined' || outcome === 'resumed') return 'ok';
  if (outcome === 'failed' || outcome === 'missed') return 'danger';
  return 'warn';
}

// -- the chart (inline SVG; sizes in viewBox units, scaled by CSS) -------------------------------

function renderChart(items, names) {
  const box = clear($('rep-chart'));
  if (!items.length) {
    box.append(el('p', { class: 'muted', text: '这段时间没有考核数据' }));
    return;
  }
  const bar = 14;
  const groupGap = 22;
  const groupW = SERIES.length * bar + groupGap;
  const left = 44;
  const top = 16;
  const plotH = 180;
  const labelH = 46;
  const width = left + items.length * groupW + 10;
  const height = top + plotH + labelH;
  const max = Math.max(1, ...items.map((z) => Math.max(z.planned_min || 0, z.aired_min || 0)));
  const step = niceStep(max);
  const ceiling = Math.ceil(max / step) * step;
  const y = (v) => top + plotH - (plotH * v) / ceiling;

  const chart = svg('svg', {
    class: 'chart',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': '每个区域每天的计划、实际播出和设备确认分钟数',
  });
  for (let v = 0; v <= ceiling + 1e-9; v += step) {
    chart.append(
      svg('line', { x1: left, x2: width - 6, y1: y(v), y2: y(v), class: 'grid-line' }),
      svg('text', { x: left - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, step < 1 ? v.toFixed(1) : String(Math.round(v))),
    );
  }
  items.forEach((z, i) => {
    const x0 = left + i * groupW + groupGap / 2;
    const group = svg('g', { class: 'bar-group', 'data-zone': z.zone, 'data-date': z.date });
    SERIES.forEach(([key, label, cls], k) => {
      const v = Math.max(0, z[key] || 0);
      group.append(
        svg(
          'rect',
          { x: x0 + k * bar, y: y(v), width: bar - 2, height: Math.max(0, y(0) - y(v)), class: cls },
          svg('title', {}, `${names.get(z.zone) || z.zone} ${z.date} ${label}：${v.toFixed(1)} 分钟`),
        ),
      );
    });
    const cx = x0 + (SERIES.length * bar) / 2;
    group.append(
      svg('text', { x: cx, y: top + plotH + 16, class: 'axis', 'text-anchor': 'middle' }, z.date.slice(5)),
      svg('text', { x: cx, y: top + plotH + 32, class: 'axis zone-label', 'text-anchor': 'middle' }, names.get(z.zone) || z.zone),
    );
    chart.append(group);
  });
  box.append(
    el(
      'div',
      { class: 'legend' },
      SERIES.map(([, label, cls]) => el('span', { class: 'legend-item' }, el('span', { class: `swatch ${cls}` }), label)),
      el('span', { class: 'muted', text: '（单位：分钟）' }),
    ),
    el('div', { class: 'chart-scroll' }, chart),
  );
}

function niceStep(max) {
  const rough = max / 5;
  const p = 10 ** Math.floor(Math.log10(rough));
  for (const m of [1, 2, 5, 10]) if (m * p >= rough) return m * p;
  return 10 * p;
}

export function wire() {
  $('rec-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  $('rec-zone').addEventListener('change', render);
  window.addEventListener('zones', fillZones);
}
