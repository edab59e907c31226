// 总览's overrides: the 手动插播 form (a playlist or an approved clip, on zones, now or at a
// time, for minutes or a number of plays) and the list of manual and emergency airings with
// their state, each active one with 停止 / 取消插播 and an emergency's 解除警报 (CAP cancel).

import { api, can, clipTitles, live, newIdentifier, rememberClips } from './api.js';
import { chosenZones, zoneChoices, zoneSummary } from './controls.js';
import {
  $,
  OVERRIDE_STATE,
  SOURCE,
  badge,
  clear,
  confirmWithReason,
  dayLabel,
  duration,
  el,
  priorityLabel,
  toast,
  wallDate,
  wallDateTime,
  wallTime,
} from './ui.js';

const ACTIVE = new Set(['scheduled', 'waiting', 'on_air']);
const FINISHED_SHOWN = 20;

let playlistTitles = new Map();
let zonesKey = '';
let statusKey = '';
let loadSeq = 0;

export function show() {
  $('airing-card').hidden = !can('airings');
  if (can('airings')) {
    renderZones((live.status && live.status.zones) || []);
    loadChoices();
  }
  loadList();
}

// -- the form ------------------------------------------------------------------------------------

function renderZones(zones) {
  if (!zones.length) return;
  const key = JSON.stringify(zones.map((z) => [z.id, z.name]));
  if (key === zonesKey) return;
  zonesKey = key;
  zoneChoices($('ai-zones'), zones, 'ai');
}

function playlistText(p) {
  const name = p.title && p.title !== p.name ? `${p.title}（${p.name}）` : p.name;
  const count = (p.now || []).length;
  if (!count) return `${name}（现在没有可播的内容）`;
  return `${name} · ${count} 段${p.fallback_used ? '（暂用备用内容）' : ''}`;
}

async function loadChoices() {
  const select = $('ai-what');
  const chosen = select.value;
  try {
    const [playlists, clips] = await Promise.all([
      api('GET', '/api/playlists'),
      api('GET', '/api/media?status=approved'),
    ]);
    rememberClips(clips);
    playlistTitles = new Map(playlists.map((p) => [p.name, p.title || p.name]));
    clear(select).append(
      el('option', { value: '', text: '— 请选择节目单或音频 —' }),
      playlists.length
        ? el(
            'optgroup',
            { label: '节目单' },
            playlists.map((p) =>
              el('option', { value: `playlist:${p.name}`, disabled: !(p.now || []).length, text: playlistText(p) }),
            ),
          )
        : null,
      clips.length
        ? el(
            'optgroup',
            { label: '已批准的音频' },
            clips.map((c) => el('option', { value: `clip:${c.id}`, text: `${c.title}（${duration(c.duration_s)}）` })),
          )
        : null,
    );
    if ([...select.options].some((o) => o.value === chosen && !o.disabled)) select.value = chosen;
  } catch (err) {
    toast(`无法获取节目单和音频：${err.message}`, 'error');
  }
}

function toggleFields() {
  $('ai-start-label').hidden = !$('ai-later').checked;
  const byRepeats = $('ai-by-repeats').checked;
  $('ai-minutes-label').hidden = byRepeats;
  $('ai-repeats-label').hidden = !byRepeats;
}

/** The station's wall clock now, as a datetime-local value ("2027-06-07T09:30"). */
function nowLocal() {
  if (!live.status) return '';
  return `${wallDate(live.status.now)}T${wallTime(live.status.now)}`;
}

function readForm() {
  const problems = [];
  const what = $('ai-what').value;
  const zones = chosenZones($('ai-zones'));
  const later = $('ai-later').checked;
  const start = $('ai-start').value;
  const byRepeats = $('ai-by-repeats').checked;
  const minutes = Number($('ai-minutes').value);
  const repeats = Number($('ai-repeats').value);
  const priority = Number($('ai-priority').value);
  const reason = $('ai-reason').value.trim();
  const expires = $('ai-expires').value;
  const led = $('ai-led').value.trim();
  const now = nowLocal();
  if (!what) problems.push('请选择播放内容');
  if (!zones) problems.push('请选择播出区域');
  if (later && !start) problems.push('请填写开始时间');
  else if (later && now && start < now) problems.push('开始时间已经过去；要立即播出请选“现在”');
  if (byRepeats && !(Number.isInteger(repeats) && repeats >= 1 && repeats <= 100)) {
    problems.push('播放次数应为 1 到 100');
  }
  if (!byRepeats && !(minutes > 0 && minutes <= 360)) problems.push('时长应在 360 分钟以内');
  if (!(Number.isInteger(priority) && priority >= 1 && priority <= 80)) problems.push('优先级最高为 80');
  if (expires && ((later && start && expires <= start) || (now && expires <= now))) {
    problems.push('失效时间须晚于开始时间');
  }
  if (!reason) problems.push('请填写插播原因');
  const colon = what.indexOf(':');
  const kind = what.slice(0, colon);
  const value = what.slice(colon + 1);
  // datetime-local gives station wall-clock time without an offset, which the daemon reads as
  // station time.
  const body = {
    playlist: kind === 'playlist' ? value : null,
    clips: kind === 'clip' ? [value] : null,
    zones: zones || 'all',
    start: later ? start : null,
    duration_s: byRepeats ? null : Math.round(minutes * 60),
    repeats: byRepeats ? repeats : null,
    priority,
    reason,
    expires: expires || null,
    led_text: led || null,
  };
  return { problems, body };
}

async function submit(event) {
  event.preventDefault();
  const error = $('ai-error');
  error.textContent = '';
  const { problems, body } = readForm();
  if (problems.length) {
    error.textContent = problems.join('；');
    return;
  }
  const what = $('ai-what').selectedOptions[0].textContent;
  const button = $('ai-submit');
  button.disabled = true;
  try {
    const reason = await confirmWithReason({
      title: body.start ? '确认安排手动插播？' : '确认立即手动插播？',
      lines: [
        `内容：${what}`,
        `区域：${zoneSummary(body.zones)}`,
        `开始：${body.start ? body.start.replace('T', ' ') : '立即'}`,
        body.repeats ? `播放 ${body.repeats} 遍` : `播放 ${body.duration_s / 60} 分钟`,
        `${priorityLabel(body.priority)}：${body.priority >= 80 ? '会打断日常播出和其他手动插播' : '会打断日常定时播出，结束后日常播出继续'}`,
        body.expires ? `最迟 ${body.expires.replace('T', ' ')} 停止` : null,
        body.led_text ? `屏幕显示：${body.led_text}` : '屏幕不显示文字',
      ].filter(Boolean),
      ok: body.start ? '安排插播' : '立即插播',
      initial: body.reason,
    });
    if (reason === null) return;
    try {
      const made = await api('POST', '/api/airings', { ...body, reason });
      $('ai-reason').value = '';
      $('ai-led').value = '';
      toast(`手动插播已下达（${OVERRIDE_STATE[made && made.state] || '已安排'}）`);
      window.dispatchEvent(new CustomEvent('airings-changed'));
    } catch (err) {
      error.textContent = `手动插播失败：${err.message}`;
      toast(`手动插播失败：${err.message}`, 'error');
    }
  } finally {
    button.disabled = false;
  }
}

// -- the list ------------------------------------------------------------------------------------

export async function loadList() {
  const seq = ++loadSeq;
  try {
    const overrides = await api('GET', '/api/airings');
    if (seq === loadSeq) renderList(overrides);
  } catch (err) {
    if (seq === loadSeq) {
      clear($('override-list')).append(el('p', { class: 'error', text: `无法获取插播列表：${err.message}` }));
    }
  }
}

function whatOf(o) {
  if (o.playlist) return `节目单：${playlistTitles.get(o.playlist) || o.playlist}`;
  const clips = (o.clips || []).map((id) => clipTitles.get(id) || id);
  return clips.length ? `音频：${clips.join('、')}` : '';
}

function whenOf(o) {
  const endDay = wallDate(o.end) === wallDate(o.start) ? wallTime(o.end) : wallDateTime(o.end);
  return `${dayLabel(wallDate(o.start))} ${wallTime(o.start)}–${endDay}`;
}

function stateKind(state) {
  if (state === 'on_air' || state === 'aired') return 'ok';
  if (state === 'waiting' || state === 'scheduled') return 'warn';
  if (['failed', 'never_aired', 'missed', 'aired_partly', 'preempted'].includes(state)) return 'danger';
  return '';
}

/** What the record says went wrong: the zones that did not air and why (GET /api/airings `aired`). */
function airedNote(o) {
  const aired = o.aired || {};
  const zones = (aired.failed_zones || []).join('、');
  if (!zones && !aired.reason) return null;
  return el('p', { class: 'muted', text: `${zones ? `未播出区域：${zones}` : ''}${zones && aired.reason ? ' · ' : ''}${aired.reason || ''}` });
}

function renderList(overrides) {
  const box = clear($('override-list'));
  const active = overrides.filter((o) => ACTIVE.has(o.state)).sort((a, b) => a.start.localeCompare(b.start));
  const finished = overrides
    .filter((o) => !ACTIVE.has(o.state))
    .sort((a, b) => b.start.localeCompare(a.start));
  if (!active.length) box.append(el('p', { class: 'idle', text: '现在没有进行中或即将开始的插播' }));
  box.append(...active.map(item));
  if (finished.length) {
    box.append(el('h3', { class: 'finished-title', text: '最近结束的' }));
    box.append(...finished.slice(0, FINISHED_SHOWN).map(item));
    if (finished.length > FINISHED_SHOWN) {
      box.append(el('p', { class: 'muted', text: `另有 ${finished.length - FINISHED_SHOWN} 条，见播出记录` }));
    }
  }
}

function item(o) {
  const emergency = o.source === 'emergency';
  const running = ACTIVE.has(o.state);
  const actions = [];
  if (running && can('airings')) {
    const scheduled = o.state === 'scheduled';
    actions.push(
      el('button', { type: 'button', class: 'danger', onclick: (e) => stop(o, e.currentTarget) }, scheduled ? '取消插播' : '停止'),
    );
  }
  if (running && emergency && o.identifier && can('emergency')) {
    actions.push(el('button', { type: 'button', class: 'danger', onclick: (e) => cancelAlert(o, e.currentTarget) }, '解除警报'));
  }
  const ended = !running && (o.ended_by || o.ended_reason);
  return el(
    'div',
    {
      class: `override ${o.state} ${emergency ? 'emergency' : ''}`,
      dataset: { override: o.id, state: o.state, source: o.source },
    },
    el(
      'div',
      { class: 'override-head' },
      badge(SOURCE[o.source] || o.source, emergency ? 'danger' : 'warn'),
      o.exercise ? badge('演练', 'exercise') : null,
      badge(OVERRIDE_STATE[o.state] || o.state, `state ${stateKind(o.state)}`),
      el('strong', { class: 'override-what', text: whatOf(o) }),
    ),
    el('p', { class: 'override-when', text: whenOf(o) }),
    el('p', { text: `区域：${zoneSummary(o.zones)} · ${priorityLabel(o.priority)}` }),
    el('p', { class: 'muted', text: `下达：${o.created_by}${o.reason ? ` · 原因：${o.reason}` : ''}` }),
    o.state === 'waiting' || !ACTIVE.has(o.state) ? airedNote(o) : null,
    emergency && o.identifier ? el('p', { class: 'muted small', text: `警报编号：${o.identifier}` }) : null,
    ended
      ? el('p', {
          class: 'muted',
          text: `${OVERRIDE_STATE[o.state] || o.state}：${o.ended_by || ''}${o.ended_at ? ` ${wallTime(o.ended_at)}` : ''}${o.ended_reason ? ` · ${o.ended_reason}` : ''}`,
        })
      : null,
    actions.length ? el('div', { class: 'actions' }, actions) : null,
  );
}

async function stop(o, button) {
  const scheduled = o.state === 'scheduled';
  const reason = await confirmWithReason({
    title: scheduled ? '取消这个插播？' : '停止这个插播？',
    lines: [
      `${SOURCE[o.source] || o.source}${o.exercise ? '（演练）' : ''}：${whatOf(o)}`,
      `区域：${zoneSummary(o.zones)}，${whenOf(o)}`,
      scheduled ? '取消后它不会播出。' : '立即停止，之后不会再恢复；被它打断的日常播出会继续。',
    ],
    ok: scheduled ? '确认取消插播' : '确认停止',
  });
  if (reason === null) return;
  button.disabled = true;
  try {
    const done = await api('DELETE', `/api/airings/${encodeURIComponent(o.id)}?${new URLSearchParams({ reason })}`);
    toast(`插播${OVERRIDE_STATE[done && done.state] || '已结束'}`);
  } catch (err) {
    toast(`操作失败：${err.message}`, 'error');
  } finally {
    button.disabled = false;
    loadList();
  }
}

async function cancelAlert(o, button) {
  const reason = await confirmWithReason({
    title: o.exercise ? '解除这次演练警报？' : '解除这次紧急警报？',
    lines: [
      `警报编号：${o.identifier}`,
      `区域：${zoneSummary(o.zones)}，${whenOf(o)}`,
      '发送取消消息（CAP cancel）：这次紧急插播立即停止，屏幕上的紧急文字撤下。',
    ],
    ok: '解除警报',
  });
  if (reason === null) return;
  button.disabled = true;
  try {
    const answer = await api('POST', '/api/emergency', {
      identifier: newIdentifier(),
      status: o.status || (o.exercise ? 'exercise' : 'actual'),
      msgType: 'cancel',
      references: [o.identifier],
      reason,
    });
    const n = (answer && answer.cancelled && answer.cancelled.length) || 0;
    toast(n ? '警报已解除' : '警报已解除（它当时已经结束）');
  } catch (err) {
    toast(`解除警报失败：${err.message}`, 'error');
  } finally {
    button.disabled = false;
    loadList();
  }
}

/** Reload the list when what airs now or next changes (not at every position tick). */
function onStatus(status) {
  const key = JSON.stringify([
    (status.on_air || []).map((a) => [a.id, a.phase]),
    (status.next || []).map((a) => a.id),
  ]);
  renderZones(status.zones || []);
  if (key === statusKey) return;
  statusKey = key;
  if (!$('page-overview').hidden) loadList();
}

export function wire() {
  $('airing-form').addEventListener('submit', submit);
  for (const id of ['ai-now', 'ai-later', 'ai-by-minutes', 'ai-by-repeats']) {
    $(id).addEventListener('change', toggleFields);
  }
  window.addEventListener('status', (event) => onStatus(event.detail));
  window.addEventListener('airings-changed', loadList);
  window.addEventListener('media-changed', () => {
    if (can('airings')) loadChoices();
  });
  window.addEventListener('login', () => {
    zonesKey = '';
    statusKey = '';
  });
}
