// 总览's 设备状态 and LED 屏幕 cards: amplifiers, relay boards, the broker, the record and the
// air-check disk, the screens. Each section carries what the fault banner links to (faults.js).

import { $, SCREEN_MODE, badge, clear, el, number } from './ui.js';

/** The raw error text, folded away behind 详情 (the plain words are beside it). */
export function rawDetail(text) {
  if (!text) return null;
  return el('details', { class: 'raw' }, el('summary', { text: '详情' }), el('pre', { text }));
}

export function renderDevices(status) {
  const box = clear($('devices'));
  const amps = status.amplifiers || [];
  if (amps.length) {
    box.append(
      el(
        'div',
        { class: 'amps', dataset: { section: 'amplifiers' } },
        '功放电源：',
        amps.map((a, i) => badge(`${i + 1}号 ${a.state === 'on' ? '开' : a.state === 'off' ? '关' : '未知'}`, a.state === 'on' ? 'ok' : '')),
        rawDetail(amps.map((a) => a.failed).filter(Boolean).join('\n')),
      ),
    );
  }
  for (const d of status.devices || []) {
    const health =
      d.available === true ? badge('在线', 'ok') : d.available === false ? badge('离线', 'danger') : badge('无法检测', '');
    box.append(
      el(
        'div',
        { class: 'device', dataset: { device: d.id } },
        el('strong', { text: d.id }),
        ' ',
        health,
        d.last_error ? el('p', { class: 'muted', text: '最近出过错' }) : null,
        rawDetail(d.last_error),
        el(
          'div',
          { class: 'channels' },
          (d.channels || []).map((c) =>
            el('span', { class: `chip ${c.state}`, text: `${c.channel}:${c.state === 'on' ? '开' : c.state === 'off' ? '关' : '?'}` }),
          ),
        ),
      ),
    );
  }
  const { mqtt, record, storage: disk } = status;
  if (mqtt) box.append(line('mqtt', '消息服务器（MQTT）：', mqtt.connected, '已连接', '未连接', mqtt.last_error));
  if (record) box.append(line('record', '播出记录：', record.ok !== false, '正常', '写不进磁盘', record.fault));
  if (disk) {
    const free = `剩余 ${number(disk.free_gb)} GB`;
    box.append(line('storage', '录音磁盘：', disk.ok !== false, free, free, disk.warning));
  }
}

/** One line of the station's own health, with what went wrong behind 详情. */
function line(section, label, ok, good, bad, raw) {
  return el(
    'div',
    { class: 'system', dataset: { section } },
    label,
    ok ? badge(good, 'ok') : badge(bad, 'danger'),
    ok ? null : rawDetail(raw),
  );
}

export function renderScreens(status) {
  const box = clear($('screens'));
  for (const s of status.displays || []) {
    box.append(
      el(
        'div',
        { class: `screen ${s.mode || ''}`, dataset: { display: s.id } },
        el('div', {}, el('strong', { text: s.id }), ' ', badge(SCREEN_MODE[s.mode] || s.mode || '', s.mode === 'error' ? 'danger' : s.mode === 'message' ? 'warn' : 'info'),
          s.available === false ? badge('离线', 'danger') : null),
        el('p', { class: 'screen-text', text: s.text || (s.powered === false ? '（已关屏）' : '（无文字）') }),
        rawDetail(s.last_error),
      ),
    );
  }
  if (!box.childNodes.length) box.append(el('p', { class: 'muted', text: '没有配置 LED 屏幕' }));
}
