// 静默期: a month calendar and the list of quiet periods (config.yaml's read-only), and the
// form that previews the airings a new one silences before saving it.

import { api, can, live, zoneNames } from './api.js';
import { chosenZones, zoneSummary } from './controls.js';
import {
  $,
  addDays,
  badge,
  clear,
  confirmWithReason,
  dayLabel,
  el,
  toast,
  wallDate,
  wallDateTime,
  wallTime,
} from './ui.js';

let blackouts = [];
let month = null; // "YYYY-MM"
let previewed = null; // the form's JSON when it was last previewed

export function show() {
  $('blackout-create').hidden = !can('blackouts');
  if (!month) month = (live.status ? wallDate(live.status.now) : new Date().toISOString()).slice(0, 7);
  renderZoneChoices();
  load();
}

async function load() {
  try {
    blackouts = await api('GET', '/api/blackouts');
    renderList();
    renderCalendar();
  } catch (err) {
    clear($('blackout-list')).append(el('p', { class: 'error', text: `无法获取静默期：${err.message}` }));
  }
}

function zonesText(zones) {
  if (zones === 'all' || !zones) return '全部区域';
  const names = zoneNames();
  return zones.map((z) => names.get(z) || z).join('、');
}

function renderList() {
  const box = clear($('blackout-list'));
  if (!blackouts.length) {
    box.append(el('p', { class: 'muted', text: '没有静默期' }));
    return;
  }
  for (const b of blackouts) {
    const fromConfig = b.source === 'config';
    box.append(
      el(
        'div',
        { class: `blackout-item ${fromConfig ? 'config' : 'api'}`, dataset: { blackout: fromConfig ? b.name : String(b.id) } },
        el('div', {}, el('strong', { text: b.name }), ' ', fromConfig ? badge('配置文件（只读）', '') : badge('控制台添加', 'info')),
        el('p', { text: `${wallDateTime(b.start)} 至 ${wallDateTime(b.end)}` }),
        el('p', { text: `区域：${zonesText(b.zones)} · ${thresholdText(b.threshold)}` }),
        b.reason ? el('p', { class: 'muted', text: `原因：${b.reason}` }) : null,
        b.created_by ? el('p', { class: 'muted', text: `添加人：${b.created_by}` }) : null,
        !fromConfig && can('blackouts')
          ? el('button', { type: 'button', onclick: () => remove(b) }, '删除')
          : null,
      ),
    );
  }
}

const THRESHOLD = {
  101: '全部静默',
  100: '只放行紧急插播',
  80: '放行警情和紧急插播',
  70: '只静默日常定时播出',
};

function thresholdText(threshold) {
  const t = threshold === undefined || threshold === null ? 100 : Number(threshold);
  return THRESHOLD[t] || `静默优先级低于 ${t} 的播出`;
}

/** Whether the blackout holds any part of the station day `day` (wall-clock comparison). */
function coversDay(b, day) {
  const start = `${wallDate(b.start)}T${wallTime(b.start)}`;
  const end = `${wallDate(b.end)}T${wallTime(b.end)}`;
  return start < `${addDays(day, 1)}T00:00` && end > `${day}T00:00`;
}

function renderCalendar() {
  const [y, m] = month.split('-').map(Number);
  $('cal-title').textContent = `${y}年${m}月`;
  const first = `${month}-01`;
  const weekday = (new Date(Date.UTC(y, m - 1, 1)).getUTCDay() + 6) % 7; // Monday first
  const today = live.status ? wallDate(live.status.now) : '';
  const grid = clear($('calendar'));
  for (const name of ['一', '二', '三', '四', '五', '六', '日']) {
    grid.append(el('div', { class: 'cal-head', text: name }));
  }
  for (let i = 0; i < weekday; i += 1) grid.append(el('div', { class: 'cal-day empty' }));
  for (let day = first; day.slice(0, 7) === month; day = addDays(day, 1)) {
    const quiet = blackouts.filter((b) => coversDay(b, day));
    grid.append(
      el(
        'div',
        {
          class: `cal-day ${quiet.length ? 'quiet' : ''} ${day === today ? 'today' : ''}`,
          dataset: { day },
          title: quiet.map((b) => b.name).join('、') || null,
        },
        el('span', { class: 'cal-num', text: String(Number(day.slice(8))) }),
        quiet.map((b) => el('span', { class: 'cal-name', text: b.name })),
      ),
    );
  }
}

function shiftMonth(delta) {
  const [y, m] = month.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1 + delta, 1));
  month = t.toISOString().slice(0, 7);
  renderCalendar();
}

// -- the form ------------------------------------------------------------------------------------

function renderZoneChoices() {
  const box = $('bo-zones');
  const zones = (live.status && live.status.zones) || [];
  const key = JSON.stringify(zones.map((z) => z.id));
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  clear(box).append(
    el('label', { class: 'check' }, el('input', { type: 'checkbox', value: 'all', 'data-all': '1', checked: true }), ' 全部区域'),
    ...zones.map((z) => el('label', { class: 'check' }, el('input', { type: 'checkbox', value: z.id }), ` ${z.name || z.id}`)),
  );
  const all = box.querySelector('[data-all]');
  all.addEventListener('change', () => {
    for (const one of box.querySelectorAll('input:not([data-all])')) one.checked = false;
    formChanged();
  });
  for (const one of box.querySelectorAll('input:not([data-all])')) {
    one.addEventListener('change', () => {
      if (one.checked) all.checked = false;
      formChanged();
    });
  }
}

/** The form as the API wants it, or a list of what is missing. */
function readForm() {
  const problems = [];
  const name = $('bo-name').value.trim();
  const start = $('bo-start').value;
  const end = $('bo-end').value;
  const zones = chosenZones($('bo-zones'));
  const threshold = Number($('bo-threshold').value);
  const reason = $('bo-reason').value.trim();
  if (!name) problems.push('请填写名称');
  if (!start || !end) problems.push('请填写开始和结束时间');
  else if (end <= start) problems.push('结束时间须晚于开始时间');
  if (!zones) problems.push('请选择静默区域');
  if (!reason) problems.push('请填写原因');
  // datetime-local gives station wall-clock time without an offset, which the daemon reads
  // as station time.
  return { problems, body: { name, start, end, zones: zones || 'all', reason, threshold } };
}

function formChanged() {
  if (previewed !== null && previewed !== JSON.stringify(readForm().body)) {
    previewed = null;
    $('bo-save').disabled = true;
    const box = $('bo-preview-result');
    if (box.childNodes.length) {
      clear(box).append(el('p', { class: 'muted', text: '内容已修改，请重新预览。' }));
    }
  }
}

async function preview() {
  const { problems, body } = readForm();
  $('bo-error').textContent = problems.join('；');
  if (problems.length) return;
  const button = $('bo-preview');
  button.disabled = true;
  try {
    const result = await api('POST', '/api/blackouts/preview', body);
    previewed = JSON.stringify(body);
    renderPreview(result.silences || []);
    $('bo-save').disabled = false;
  } catch (err) {
    $('bo-error').textContent = `预览失败：${err.message}`;
  } finally {
    button.disabled = false;
  }
}

function renderPreview(silences) {
  const names = zoneNames();
  const box = clear($('bo-preview-result'));
  if (!silences.length) {
    box.append(el('p', { class: 'ok-note', text: '这段时间内没有安排的播出会被静默。' }));
    return;
  }
  box.append(el('p', { class: 'warn-note', text: `将静默以下 ${silences.length} 次播出：` }));
  box.append(
    el(
      'ul',
      { class: 'silenced' },
      silences.map((a) =>
        el(
          'li',
          { dataset: { airing: a.id, status: a.status } },
          el('strong', { text: `${dayLabel(wallDate(a.start))} ${wallTime(a.start)}–${wallTime(a.end)} ${a.slot}` }),
          ' ',
          a.status === 'blackout' ? badge('整段静默', 'quiet') : badge('部分静默', 'quiet'),
          el('div', {
            class: 'muted',
            text: (a.zones || [])
              .filter((z) => z.status !== 'scheduled')
              .map((z) => `${names.get(z.zone) || z.zone}${z.status === 'cut' ? `：${wallTime(z.end)} 起` : ''}`)
              .join('、'),
          }),
        ),
      ),
    ),
  );
}

async function save(event) {
  event.preventDefault();
  const { problems, body } = readForm();
  $('bo-error').textContent = problems.join('；');
  if (problems.length) return;
  if (previewed !== JSON.stringify(body)) {
    $('bo-error').textContent = '请先预览受影响的播出';
    return;
  }
  const reason = await confirmWithReason({
    title: '保存静默期？',
    lines: [
      `${body.name}：${body.start.replace('T', ' ')} 至 ${body.end.replace('T', ' ')}`,
      `区域：${zoneSummary(body.zones)}`,
      '保存后立即生效，期间的播出会按预览静默。',
    ],
    ok: '保存',
    initial: body.reason,
  });
  if (reason === null) return;
  try {
    await api('POST', '/api/blackouts', { ...body, reason });
    toast('静默期已保存');
    $('bo-form').reset();
    previewed = null;
    $('bo-save').disabled = true;
    window.dispatchEvent(new CustomEvent('plan-changed'));
    load();
  } catch (err) {
    $('bo-error').textContent = `保存失败：${err.message}`;
  }
}

async function remove(b) {
  const reason = await confirmWithReason({
    title: '删除静默期？',
    lines: [`${b.name}：${wallDateTime(b.start)} 至 ${wallDateTime(b.end)}`, '删除后，这段时间内的播出会恢复。'],
    ok: '删除',
  });
  if (reason === null) return;
  try {
    await api('DELETE', `/api/blackouts/${encodeURIComponent(b.id)}?${new URLSearchParams({ reason })}`);
    toast('静默期已删除');
    window.dispatchEvent(new CustomEvent('plan-changed'));
    load();
  } catch (err) {
    toast(`删除失败：${err.message}`, 'error');
  }
}

export function wire() {
  $('cal-prev').addEventListener('click', () => shiftMonth(-1));
  $('cal-next').addEventListener('click', () => shiftMonth(1));
  $('bo-preview').addEventListener('click', preview);
  $('bo-form').addEventListener('submit', save);
  $('bo-form').addEventListener('input', formChanged);
  window.addEventListener('zones', () => {
    if (!$('page-blackouts').hidden) renderZoneChoices();
  });
}
