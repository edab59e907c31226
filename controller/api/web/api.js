// Talking to the daemon: JSON calls with the session cookie and the CSRF header, the upload
// with its progress, and the little shared state (who is logged in, the latest status).

const CSRF = { 'X-Requested-With': 'broadcastctl' };

/** Who is logged in and what the console may offer them (from /api/login or /api/me). */
export const session = { user: null, role: null, may: [] };

export function can(what) {
  return session.may.includes(what);
}

/** The latest station status from the event stream; `status` events on window announce it. */
export const live = { status: null, offsetMs: 0 };

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const GENERIC = {
  400: '请求有误',
  401: '请先登录',
  403: '没有权限执行此操作',
  404: '没有找到，或此控制器版本还不支持这项功能',
  405: '此控制器版本还不支持这项功能',
  409: '操作冲突',
  413: '文件太大',
  415: '不支持的文件格式',
  429: '尝试次数过多，请稍后再试',
  503: '服务暂时不可用，请稍后再试',
};

/** The server's reason in the operator's language: the Chinese half of "中文 / English". */
export function describe(status, data) {
  const detail = data && typeof data === 'object' ? data.detail : null;
  if (typeof detail === 'string' && detail) return detail.split(' / ')[0];
  if (Array.isArray(detail) && detail.length) {
    const parts = detail.map((d) => {
      const where = Array.isArray(d.loc) ? d.loc.filter((x) => x !== 'body').join('.') : '';
      return `${where} ${d.msg || ''}`.trim();
    });
    return `填写有误：${parts.join('；')}`;
  }
  return GENERIC[status] || `请求失败（${status}）`;
}

async function readBody(response) {
  const type = response.headers.get('content-type') || '';
  if (type.includes('application/json')) {
    try {
      return await response.json();
    } catch {
      return null;
    }
  }
  return null;
}

/** A JSON call; throws ApiError with a Chinese message. A 401 also fires `auth-lost`. */
export async function api(method, path, body) {
  const headers = { ...CSRF, Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, '无法连接到广播控制器，请检查网络');
  }
  const data = await readBody(response);
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith('/api/login') && !path.startsWith('/api/me')) {
      window.dispatchEvent(new CustomEvent('auth-lost'));
    }
    throw new ApiError(response.status, describe(response.status, data));
  }
  return data;
}

/** Upload a clip (multipart) with progress: onProgress(fraction 0..1) while the bytes go up,
 * then onSent() while the daemon analyses. Resolves {created, clip}. */
export function upload(form, onProgress, onSent) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/media');
    xhr.setRequestHeader('X-Requested-With', CSRF['X-Requested-With']);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.responseType = 'json';
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    };
    xhr.upload.onload = () => {
      onProgress(1);
      onSent();
    };
    xhr.onload = () => {
      if (xhr.status === 200 || xhr.status === 201) {
        resolve({ created: xhr.status === 201, clip: xhr.response });
        return;
      }
      if (xhr.status === 401) window.dispatchEvent(new CustomEvent('auth-lost'));
      reject(new ApiError(xhr.status, describe(xhr.status, xhr.response)));
    };
    xhr.onerror = () => reject(new ApiError(0, '上传中断，请检查网络后重试'));
    xhr.send(form);
  });
}

/** A random UUID (v4). crypto.randomUUID needs https; a station console may be plain http. */
export function newIdentifier() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Clip id → title, from the library lists this page has read. */
export const clipTitles = new Map();

export function rememberClips(clips) {
  for (const c of clips || []) clipTitles.set(c.id, c.title);
}

/** A clip as the status names it (its file under the media folder), in words: its title
 * when the file is a library clip ("library/<id>/…"), else the file's name. */
export function clipLabel(file) {
  const name = String(file || '');
  const id = /(?:^|\/)([0-9a-f]{12})\//.exec(name);
  if (id && clipTitles.has(id[1])) return clipTitles.get(id[1]);
  return name.split('/').pop();
}

/** Zone id → name, from the latest status. */
export function zoneNames() {
  const names = new Map();
  for (const z of (live.status && live.status.zones) || []) names.set(z.id, z.name || z.id);
  return names;
}
