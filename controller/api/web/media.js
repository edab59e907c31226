// 音频库: upload with progress and the analysis, the library with approval, validity and
// listening.

import { api, can, rememberClips, session, upload } from './api.js';
import {
  $,
  CLIP_STATUS,
  addDays,
  badge,
  clear,
  confirmWithReason,
  duration,
  el,
  number,
  toast,
  wallDate,
  wallDateTime,
  wallTime,
} from './ui.js';

const NORMALISATION = { linear: '整体调整音量', limited: '调整音量并限制峰值', dynamic: '动态调整响度' };

export function show() {
  $('upload-card').hidden = !can('upload');
  loadClips();
}

/** The last day a clip airs, for a `valid_until` bound: a midnight end is the day before. */
function lastDay(iso) {
  if (!iso) return '';
  return wallTime(iso) === '00:00' ? addDays(wallDate(iso), -1) : wallDate(iso);
}

function validity(clip) {
  const from = clip.valid_from ? `${wallDateTime(clip.valid_from)} 起` : '';
  let until = '';
  if (clip.valid_until) {
    until =
      wallTime(clip.valid_until) === '00:00'
        ? `播到 ${lastDay(clip.valid_until)}（含当天）`
        : `播到 ${wallDateTime(clip.valid_until)}`;
  }
  return from || until ? [from, until].filter(Boolean).join('，') : '长期有效';
}

function analysis(clip) {
  return [
    `时长：${duration(clip.duration_s)}`,
    `响度：原始 ${number(clip.lufs_in)} LUFS → 播出 ${number(clip.lufs_out)} LUFS`,
    `峰值：${number(clip.peak_out)} dBTP（原始 ${number(clip.peak_in)}）`,
    `处理：${NORMALISATION[clip.normalisation] || clip.normalisation || '—'}`,
  ];
}

// -- upload --------------------------------------------------------------------------------------

async function submitUpload(event) {
  event.preventDefault();
  const error = $('up-error');
  error.textContent = '';
  const file = $('up-file').files[0];
  if (!file) {
    error.textContent = '请选择音频文件';
    return;
  }
  const from = $('up-from').value;
  const until = $('up-until').value;
  if (from && until && until < from) {
    error.textContent = '截止日期不能早于开始日期';
    return;
  }
  const form = new FormData();
  form.append('file', file, file.name);
  for (const [field, id] of [['title', 'up-title'], ['tags', 'up-tags'], ['valid_from', 'up-from'],
    ['valid_until', 'up-until'], ['reason', 'up-reason']]) {
    const value = $(id).value.trim();
    if (value) form.append(field, value);
  }
  const bar = $('up-bar');
  const stage = $('up-stage');
  const button = $('up-submit');
  $('upload-progress').hidden = false;
  $('upload-progress').dataset.state = 'uploading';
  bar.value = 0;
  stage.textContent = '正在上传… 0%';
  clear($('upload-result'));
  button.disabled = true;
  try {
    const { created, clip } = await upload(
      form,
      (fraction) => {
        bar.value = Math.round(fraction * 100);
        stage.textContent = `正在上传… ${Math.round(fraction * 100)}%`;
      },
      () => {
        stage.textContent = '上传完成，正在分析音频（解码、测量响度）…';
      },
    );
    bar.value = 100;
    stage.textContent = created ? '完成' : '完成：音频库里已有相同的音频';
    $('upload-progress').dataset.state = 'done';
    $('upload-form').reset();
    showResult(clip, created);
    window.dispatchEvent(new CustomEvent('media-changed'));
    loadClips();
  } catch (err) {
    $('upload-progress').dataset.state = 'failed';
    stage.textContent = '上传失败';
    error.textContent = `上传失败：${err.message}`;
  } finally {
    button.disabled = false;
  }
}

function showResult(clip, created) {
  const waiting = clip.status === 'pending';
  clear($('upload-result')).append(
    el(
      'div',
      { class: 'result', dataset: { clip: clip.id } },
      el('h3', {}, el('span', { text: clip.title }), ' ', badge(CLIP_STATUS[clip.status] || clip.status, clip.status)),
      el('ul', { class: 'analysis' }, analysis(clip).map((line) => el('li', { text: line }))),
      el('p', {
        class: 'muted',
        text: waiting
          ? '值班员审核批准后才会播出。'
          : created
            ? '已入库，可以在播出中使用。'
            : '音频库里已有这段音频，没有重复保存。',
      }),
    ),
  );
}

// -- the library ---------------------------------------------------------------------------------

async function loadClips() {
  const box = $('clip-list');
  const status = $('clip-filter').value;
  try {
    const clips = await api('GET', `/api/media${status ? `?status=${encodeURIComponent(status)}` : ''}`);
    rememberClips(clips);
    renderClips(clips);
  } catch (err) {
    clear(box).append(el('p', { class: 'error', text: `无法获取音频列表：${err.message}` }));
  }
}

function renderClips(clips) {
  const box = clear($('clip-list'));
  if (!clips.length) {
    box.append(el('p', { class: 'muted', text: '没有符合条件的音频' }));
    return;
  }
  const pending = clips.filter((c) => c.status === 'pending');
  const rest = clips.filter((c) => c.status !== 'pending');
  if (pending.length) {
    box.append(el('h3', { class: 'queue-title', text: `待审核（${pending.length}）` }));
    box.append(...pending.map(clipCard));
  }
  if (rest.length) {
    if (pending.length) box.append(el('h3', { text: '其他音频' }));
    box.append(...rest.map(clipCard));
  }
}

function clipCard(clip) {
  const operator = can('approve');
  const actions = [];
  if (operator && clip.status === 'pending') {
    actions.push(
      el('button', { type: 'button', class: 'big primary', onclick: () => verdict(clip, 'approved') }, '批准播出'),
      el('button', { type: 'button', class: 'big', onclick: () => verdict(clip, 'rejected') }, '驳回'),
    );
  }
  if (operator && clip.status === 'approved') {
    actions.push(el('button', { type: 'button', class: 'big', onclick: () => retire(clip) }, '停用'));
  }
  const editable = operator && (clip.status === 'pending' || clip.status === 'approved');
  return el(
    'div',
    { class: `clip-card ${clip.status}`, dataset: { clip: clip.id, status: clip.status } },
    el(
      'div',
      { class: 'clip-head' },
      el('strong', { class: 'clip-title', text: clip.title }),
      ' ',
      badge(CLIP_STATUS[clip.status] || clip.status, clip.status),
    ),
    el(
      'p',
      { class: 'muted' },
      `编号 ${clip.id} · ${clip.uploader === session.user ? '我' : clip.uploader} 上传 · ${wallDateTime(clip.created_at)}`,
    ),
    el('ul', { class: 'analysis' }, analysis(clip).map((line) => el('li', { text: line }))),
    el('p', { text: `标签：${(clip.tags || []).join('、') || '无'}` }),
    el('p', { class: 'validity', text: `有效期：${validity(clip)}` }),
    el('audio', { controls: true, preload: 'none', src: `/api/media/${encodeURIComponent(clip.id)}/audio` }),
    editable ? validityEditor(clip) : null,
    actions.length ? el('div', { class: 'actions' }, actions) : null,
  );
}

function validityEditor(clip) {
  const from = el('input', { type: 'date', value: clip.valid_from ? wallDate(clip.valid_from) : '' });
  const until = el('input', { type: 'date', value: lastDay(clip.valid_until) });
  const save = async () => {
    if (from.value && until.value && until.value < from.value) {
      toast('截止日期不能早于开始日期', 'error');
      return;
    }
    const reason = await confirmWithReason({
      title: '修改有效期？',
      lines: [
        `节目：${clip.title}`,
        `从 ${from.value || '现在'} 播到 ${until.value ? `${until.value}（含当天）` : '长期'}`,
      ],
      ok: '保存',
      danger: false,
    });
    if (reason === null) return;
    try {
      await api('PATCH', `/api/media/${encodeURIComponent(clip.id)}`, {
        valid_from: from.value || null,
        valid_until: until.value || null,
        reason,
      });
      toast('有效期已保存');
      window.dispatchEvent(new CustomEvent('media-changed'));
      loadClips();
    } catch (err) {
      toast(`保存失败：${err.message}`, 'error');
    }
  };
  return el(
    'details',
    { class: 'validity-edit' },
    el('summary', { text: '修改有效期' }),
    el('div', { class: 'row' }, el('label', {}, '从哪天开始播 ', from), el('label', {}, '播到哪天为止 ', until)),
    el('button', { type: 'button', onclick: save }, '保存有效期'),
  );
}

async function verdict(clip, status) {
  const approve = status === 'approved';
  const reason = await confirmWithReason({
    title: approve ? '批准此音频播出？' : '驳回此音频？',
    lines: [
      `节目：${clip.title}（${duration(clip.duration_s)}）`,
      approve ? '批准后，它会按播出单在喇叭中播出。' : '驳回后它不会播出，上传者可以看到驳回状态。',
    ],
    ok: approve ? '批准' : '驳回',
    danger: !approve,
  });
  if (reason === null) return;
  try {
    await api('PATCH', `/api/media/${encodeURIComponent(clip.id)}`, { status, reason });
    toast(approve ? '已批准' : '已驳回');
    window.dispatchEvent(new CustomEvent('media-changed'));
    loadClips();
  } catch (err) {
    toast(`操作失败：${err.message}`, 'error');
  }
}

async function retire(clip) {
  const reason = await confirmWithReason({
    title: '停用此音频？',
    lines: [`节目：${clip.title}`, '正在播出的话，会在这一段播完后不再播出。'],
    ok: '停用',
  });
  if (reason === null) return;
  try {
    await api('DELETE', `/api/media/${encodeURIComponent(clip.id)}?${new URLSearchParams({ reason })}`);
    toast('已停用');
    window.dispatchEvent(new CustomEvent('media-changed'));
    loadClips();
  } catch (err) {
    toast(`操作失败：${err.message}`, 'error');
  }
}

export function wire() {
  $('upload-form').addEventListener('submit', submitUpload);
  $('clip-filter').addEventListener('change', loadClips);
  $('clip-reload').addEventListener('click', loadClips);
}
