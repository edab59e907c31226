// The controls on 总览 that change the air, each confirmed with a reason: 停播, 紧急插播
// (one identifier per submission, so a double click airs once), a message on the screens.

import { api, can, live, newIdentifier, zoneNames } from './api.js';
import { $, OVERRIDE_STATE, clear, confirmWithReason, el, toast } from './ui.js';

let zonesKey = '';
let emergencyId = newIdentifier();

export function show() {
  $('stop-button').hidden = !can('stop');
  $('emergency-card').hidden = !can('emergency');
  $('led-form').hidden = !can('led_message');
  if (can('emergency')) loadClips();
}

async function loadClips() {
  const select = $('em-clip');
  const chosen = select.value;
  try {
    const clips = await api('GET', '/api/media?status=approved');
    clear(select).append(
      el('option', { value: '', text: clips.length ? '— 请选择 —' : '（还没有已批准的音频）' }),
      ...clips.map((c) => el('option', { value: c.id, text: `${c.title}（${Math.round(c.duration_s)}秒）` })),
    );
    if (clips.some((c) => c.id === chosen)) select.value = chosen;
  } catch (err) {
    toast(`无法获取音频列表：${err.message}`, 'error');
  }
}

/** Tick boxes for 全部区域 and each zone; ticking one clears the other kind. */
export function zoneChoices(box, zones, prefix) {
  clear(box).append(
    el('label', { class: 'check' }, el('input', { type: 'checkbox', value: 'all', 'data-all': '1', id: `${prefix}-all` }), ' 全部区域'),
    ...zones.map((z) =>
      el('label', { class: 'check' }, el('input', { type: 'checkbox', value: z.id }), ` ${z.name || z.id}`),
    ),
  );
  const all = box.querySelector('[data-all]');
  all.addEventListener('change', () => {
    for (const one of box.querySelectorAll('input:not([data-all])')) one.checked = false;
  });
  for (const one of box.querySelectorAll('input:not([data-all])')) {
    one.addEventListener('change', () => {
      if (one.checked) all.checked = false;
    });
  }
}

/** "all", a list of zone ids, or null when nothing is ticked. */
export function chosenZones(box) {
  if (box.querySelector('[data-all]').checked) return 'all';
  const ids = [...box.querySelectorAll('input:not([data-all]):checked')].map((i) => i.value);
  return ids.length ? ids : null;
}

export function zoneSummary(zones) {
  if (zones === 'all') return '全部区域';
  const names = zoneNames();
  return zones.map((z) => names.get(z) || z).join('、');
}

function renderEmergencyZones(status) {
  const zones = status.zones || [];
  const key = JSON.stringify(zones.map((z) => [z.id, z.name]));
  if (key === zonesKey) return;
  zonesKey = key;
  zoneChoices($('em-zones'), zones, 'em');
  window.dispatchEvent(new CustomEvent('zones', { detail: zones }));
}

async function stopAir() {
  const onAir = (live.status && live.status.on_air) || [];
  const reason = await confirmWithReason({
    title: '确认停播？',
    lines: onAir.length
      ? [
          `将立即停止正在播出的：${onAir.map((a) => a.slot).join('、')}`,
          '后面安排的时段照常播出。',
        ]
      : ['现在没有正在播出的节目；确认后仍会向设备发出停播。'],
    ok: '确认停播',
  });
  if (reason === null) return;
  const button = $('stop-button');
  button.disabled = true;
  try {
    const result = await api('POST', '/api/stop', { reason });
    const n = (result && result.stopped && result.stopped.length) || 0;
    toast(n ? `已停播 ${n} 个节目` : '已停播（当时没有节目在播）');
  } catch (err) {
    toast(`停播失败：${err.message}`, 'error');
  } finally {
    button.disabled = false;
  }
}

async function emergency(event) {
  event.preventDefault();
  const error = $('em-error');
  error.textContent = '';
  const zones = chosenZones($('em-zones'));
  const clip = $('em-clip').value;
  const repeats = Number($('em-repeats').value);
  const interval = Number($('em-interval').value || 0);
  const reasonTyped = $('em-reason').value.trim();
  const exercise = $('em-exercise').checked;
  const led = $('em-led').value.trim();
  const problems = [];
  if (!zones) problems.push('请选择播出区域');
  if (!clip) problems.push('请选择要播放的节目');
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > 50) problems.push('播放次数应为 1 到 50');
  if (!Number.isFinite(interval) || interval < 0) problems.push('间隔不能为负数');
  if (!reasonTyped) problems.push('请填写插播原因');
  if (problems.length) {
    error.textContent = problems.join('；');
    return;
  }
  const clipName = $('em-clip').selectedOptions[0].textContent;
  const submit = $('em-submit');
  submit.disabled = true;
  try {
    const reason = await confirmWithReason({
      title: exercise ? '确认开始紧急插播演练？' : '确认紧急插播？',
      lines: [
        exercise ? '这是演练。' : '这是真实警情：将立即打断正在播出的节目。',
        `区域：${zoneSummary(zones)}`,
        `节目：${clipName}，播放 ${repeats} 次，间隔 ${interval} 秒`,
        led ? `屏幕显示：${led}` : '屏幕不显示文字',
      ],
      ok: exercise ? '开始演练' : '立即插播',
      initial: reasonTyped,
    });
    if (reason === null) return;
    const body = {
      identifier: emergencyId,
      status: exercise ? 'exercise' : 'actual',
      msgType: 'alert',
      references: [],
      expires: null,
      zones,
      clips: [clip],
      playlist: null,
      repeats,
      interval_s: interval,
      led_text: led || null,
      reason,
    };
    try {
      const made = await api('POST', '/api/emergency', body);
      emergencyId = newIdentifier();
      $('em-reason').value = '';
      toast(`${exercise ? '紧急插播演练' : '紧急插播'}已下达（${OVERRIDE_STATE[made && made.state] || '已安排'}）`);
      window.dispatchEvent(new CustomEvent('airings-changed'));
    } catch (err) {
      if (err.status >= 400 && err.status < 500) emergencyId = newIdentifier(); // refused: not stored
      error.textContent = `紧急插播失败：${err.message}`;
      toast(`紧急插播失败：${err.message}`, 'error');
    }
  } finally {
    submit.disabled = false;
  }
}

async function ledMessage(event) {
  event.preventDefault();
  const error = $('led-error');
  error.textContent = '';
  const text = $('led-text').value.trim();
  const minutes = Number($('led-minutes').value);
  const reasonTyped = $('led-reason').value.trim();
  if (!text || !(minutes > 0 && minutes <= 1440) || !reasonTyped) {
    error.textContent = '请填写消息内容、显示时长（1–1440 分钟）和原因';
    return;
  }
  const reason = await confirmWithReason({
    title: '确认推送到 LED 屏幕？',
    lines: [`内容：${text}`, `显示 ${minutes} 分钟后恢复轮播标语`],
    ok: '推送',
    danger: false,
    initial: reasonTyped,
  });
  if (reason === null) return;
  try {
    await api('POST', '/api/led/messages', { text, minutes, reason });
    $('led-text').value = '';
    $('led-reason').value = '';
    toast('已推送到屏幕');
  } catch (err) {
    error.textContent = `推送失败：${err.message}`;
  }
}

export function wire() {
  $('stop-button').addEventListener('click', stopAir);
  $('emergency-form').addEventListener('submit', emergency);
  $('led-form').addEventListener('submit', ledMessage);
  window.addEventListener('media-changed', () => {
    if (can('emergency')) loadClips();
  });
  window.addEventListener('status', (event) => renderEmergencyZones(event.detail));
  window.addEventListener('login', () => {
    zonesKey = '';
  });
}
