// 总览: what is on air now with its countdown, each zone's relay and device health, and the
// next seven days of the plan with blackouts marked (faults.js: the fault banner on top;
// devices.js: 设备状态 and LED 屏幕; controls.js: the buttons; airings.js: 手动插播 and the
// list of overrides).

import * as overrides from './airings.js';
import { api, clipLabel, live, rememberClips, zoneNames } from './api.js';
import * as controls from './controls.js';
import { renderDevices, renderScreens } from './devices.js';
import * as faults from './faults.js';
import {
  $,
  PHASE,
  SOURCE,
  badge,
  clear,
  clock,
  dayLabel,
  el,
  priorityLabel,
  relayLabel,
  wallDate,
  wallTime,
} from './ui.js';

let planKey = null;

export function show() {
  controls.show();
  overrides.show();
  loadPlan();
}

function render(status) {
  faults.render(status);
  renderOnAir(status);
  renderZones(status);
  renderDevices(status);
  renderScreens(status);
  const key = JSON.stringify((status.next || []).map((a) => [a.id, a.status]));
  if (key !== planKey) {
    planKey = key;
    loadPlan();
  }
}

/** The library's titles, so 正在播放 names the clip, not its file. */
async function loadTitles() {
  try {
    rememberClips(await api('GET', '/api/media'));
    if (live.status) renderOnAir(live.status);
  } catch {
    // Only the label suffers: the file name is shown instead.
  }
}

function sourceOf(airing) {
  if (airing.source) return airing.source;
  return String(airing.id).startsWith('ov:') ? 'manual' : 'schedule';
}

function renderOnAir(status) {
  const list = clear($('onair-list'));
  const onAir = status.on_air || [];
  if (!onAir.length) {
    list.append(el('p', { class: 'idle', text: '现在没有播出' }));
    const next = (status.next || []).find((a) => a.status !== 'blackout');
    if (next) {
      const when = `${dayLabel(wallDate(next.start))} ${wallTime(next.start)}`;
      list.append(el('p', { class: 'muted', text: `下一次播出：${when} ${next.slot}` }));
    }
    return;
  }
  for (const a of onAir) {
    const src = sourceOf(a);
    const emergency = src === 'emergency';
    const clip = a.clip && (a.clip.file ? clipLabel(a.clip.file) : a.clip.index >= 0 ? `第 ${a.clip.index + 1} 段` : '');
    list.append(
      el(
        'div',
        { class: `onair ${emergency ? 'emergency' : ''}`, dataset: { airing: a.id, source: src } },
        el(
          'div',
          { class: 'onair-head' },
          emergency ? badge('紧急', 'danger') : badge(SOURCE[src] || src, src === 'manual' ? 'warn' : 'info'),
          a.exercise ? badge('演练', 'exercise') : null,
          el('strong', { class: 'onair-title', text: a.slot }),
        ),
        el('p', { text: `${PHASE[a.phase] || a.phase || ''} · ${wallTime(a.start)}–${wallTime(a.end)}` }),
        typeof a.priority === 'number' ? el('p', { class: 'onair-priority', text: priorityLabel(a.priority) }) : null,
        clip ? el('p', { class: 'clip' }, '正在播放：', el('strong', { text: clip })) : null,
        el('p', { class: 'countdown', dataset: { end: a.audio_end || a.end } }),
        el('p', {
          class: 'zones-line',
          text: `区域：${(a.zones || []).map((z) => `${z.name || z.id}${z.on_air ? '' : '（未开）'}`).join('、')}`,
        }),
        a.reason ? el('p', { class: 'muted', text: `原因：${a.reason}` }) : null,
      ),
    );
  }
  updateCountdowns();
}

function updateCountdowns() {
  const now = Date.now() + live.offsetMs;
  for (const node of document.querySelectorAll('.countdown[data-end]')) {
    const end = Date.parse(node.dataset.end);
    if (Number.isFinite(end)) node.textContent = `剩余 ${clock((end - now) / 1000)}`;
  }
}

function deviceOf(ref) {
  return String(ref).split(':')[0];
}

function zoneState(relays) {
  const states = relays.map((r) => r.state);
  if (states.length && states.every((s) => s === 'on')) return 'on';
  if (states.some((s) => s === 'on')) return 'partial';
  if (states.some((s) => s === 'unknown')) return 'unknown';
  return 'off';
}

function renderZones(status) {
  const devices = new Map((status.devices || []).map((d) => [d.id, d]));
  const box = clear($('zones'));
  for (const z of status.zones || []) {
    const relays = z.relays || [];
    const state = zoneState(relays);
    const confirmed = relays.every((r) => r.state !== 'on' || r.confirmed);
    const holder = (status.on_air || []).find((a) =>
      (a.zones || []).some((x) => x.id === z.id && x.on_air),
    );
    const sick = relays
      .map((r) => devices.get(deviceOf(r.relay)))
      .filter((d) => d && (d.available === false || d.last_error));
    const label =
      state === 'partial' ? '部分开' : relayLabel(state === 'unknown' ? 'unknown' : state, confirmed);
    box.append(
      el(
        'div',
        { class: `zone ${state}`, dataset: { zone: z.id, relayState: state } },
        el('div', { class: 'zone-name', text: z.name || z.id }),
        el('div', { class: 'relay', text: `喇叭：${label}` }),
        el(
          'div',
          { class: 'zone-airing' },
          holder && sourceOf(holder) === 'emergency' ? badge('紧急', 'danger') : null,
          holder ? el('span', { text: ` ${holder.slot}` }) : el('span', { class: 'muted', text: '空闲' }),
        ),
        el(
          'div',
          { class: `health ${sick.length ? 'bad' : 'good'}` },
          sick.length
            ? `设备异常：${sick.map((d) => `${d.id} ${d.available === false ? '离线' : '最近出过错'}`).join('；')}`
            : '设备正常',
        ),
      ),
    );
  }
  if (!box.childNodes.length) box.append(el('p', { class: 'muted', text: '没有配置区域' }));
}

// -- the next seven days -----------------------------------------------------------------------

let planLoading = false;

export async function loadPlan() {
  if (planLoading) return;
  planLoading = true;
  try {
    const from = live.status ? wallDate(live.status.now) : '';
    const query = new URLSearchParams({ days: '7' });
    if (from) query.set('from', from);
    renderPlan(await api('GET', `/api/plan?${query}`));
  } catch (err) {
    clear($('plan')).append(el('p', { class: 'error', text: `无法获取播出安排：${err.message}` }));
  } finally {
    planLoading = false;
  }
}

function zoneFate(z, names) {
  const name = names.get(z.zone) || z.zone;
  if (z.status === 'blackout') return `${name}：静默（${z.blackout || ''}）`;
  if (z.status === 'cut') return `${name}：${wallTime(z.end)} 起静默（${z.blackout || ''}）`;
  return `${name}：正常`;
}

function renderPlan(airings) {
  const names = zoneNames();
  const box = clear($('plan'));
  if (!airings.length) {
    box.append(el('p', { class: 'muted', text: '未来七天没有安排播出' }));
    return;
  }
  const today = live.status ? wallDate(live.status.now) : '';
  const days = new Map();
  for (const a of airings) {
    const day = wallDate(a.start);
    if (!days.has(day)) days.set(day, []);
    days.get(day).push(a);
  }
  for (const [day, list] of days) {
    box.append(
      el(
        'div',
        { class: 'plan-day', dataset: { day } },
        el('h3', { text: `${dayLabel(day)}${day === today ? '（今天）' : ''}` }),
        list.map((a) => {
          const quiet = a.status !== 'scheduled';
          const quietNames = [...new Set((a.zones || []).map((z) => z.blackout).filter(Boolean))];
          return el(
            'div',
            { class: `plan-airing ${a.status}`, dataset: { airing: a.id, status: a.status } },
            el('span', { class: 'plan-time', text: `${wallTime(a.start)}–${wallTime(a.end)}` }),
            el('span', { class: 'plan-slot', text: a.slot }),
            a.status === 'blackout'
              ? badge(`静默：${quietNames.join('、')}`, 'quiet')
              : a.status === 'cut'
                ? badge(`部分静默：${quietNames.join('、')}`, 'quiet')
                : badge('正常播出', 'ok'),
            quiet
              ? el('div', { class: 'plan-zones', text: (a.zones || []).map((z) => zoneFate(z, names)).join('；') })
              : null,
          );
        }),
      ),
    );
  }
}

export function wire() {
  controls.wire();
  overrides.wire();
  window.addEventListener('status', (event) => render(event.detail));
  window.addEventListener('login', () => {
    planKey = null;
    loadTitles();
  });
  window.addEventListener('plan-changed', () => loadPlan());
  window.addEventListener('media-changed', loadTitles);
  setInterval(updateCountdowns, 1000);
}
