// Channel inspector webview: renders what the extension sends (the decoded channel and a window of
// its bytes); never fetches anything itself. Keyboard: every field row and byte window is reachable
// with Tab; Enter on a writable field edits it, Escape cancels.
// @ts-check
(function () {
  'use strict';
  // @ts-ignore acquireVsCodeApi is injected by VS Code
  const vscode = acquireVsCodeApi();
  const SVG = 'http://www.w3.org/2000/svg';
  const WINDOW = 512;

  /** @type {any} */
  let state = null; // last 'update' message
  let windowOffset = 0;
  /** @type {Uint8Array} */
  let windowBytes = new Uint8Array(0);
  /** @type {{offset:number,size:number}|null} */
  let highlighted = null;
  let editing = false;
  // the last refused write: stays shown across refreshes until the next edit or a successful write
  let writeError = '';
  /** @type {any} */
  let view = null; // last view (status, notice, error) applied

  const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = String(v);
      else if (k === 'text') e.textContent = String(v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }

  const hex = (n, w = 0) => '0x' + Number(n).toString(16).padStart(w, '0');

  function decodeBase64(s) {
    const bin = atob(s || '');
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  // ---- messages from the extension -------------------------------------------------------------
  // The device this tab shows: kept in the webview state so VS Code can restore the tab after a reload.
  vscode.setState({ device: document.body.getAttribute('data-device') });

  window.addEventListener('message', (ev) => {
    const m = ev.data;
    if (!m || typeof m.type !== 'string') return;
    switch (m.type) {
      case 'update': {
        // only the hex window moved (or nothing changed): keep the decoded view as it is
        const sameChannel = state && JSON.stringify(state.channel) === JSON.stringify(m.channel);
        state = m;
        windowOffset = m.window.offset;
        windowBytes = decodeBase64(m.window.data);
        if (sameChannel || editing) renderHex();
        else render();
        applyView(m.view);
        break;
      }
      case 'view':
        applyView(m);
        break;
      case 'writeResult':
        writeError = m.ok ? '' : `${m.name}: ${m.message}`;
        showError(view);
        break;
    }
  });

  /**
   * What the tab shows: the status, a notice (no session, no such device), an error, and whether
   * the values are from an ended session (greyed out). A device the session does not have shows
   * no values at all.
   */
  function applyView(v) {
    if (!v) return;
    view = v;
    $('status').textContent = v.status;
    document.body.classList.toggle('stale', !!v.stale);
    document.body.setAttribute('data-view', v.kind);
    const isError = v.kind === 'error';
    $('notice').hidden = isError || !v.notice;
    $('notice').textContent = isError ? '' : v.notice || '';
    showError(v);
    if (v.kind === 'missing' || (v.kind === 'noSession' && !v.stale)) clearChannel();
    /** @type {HTMLButtonElement} */ ($('binary')).disabled = v.kind !== 'live';
  }

  /** The view's own error first, else the last refused write. */
  function showError(v) {
    const text = v && v.kind === 'error' ? v.notice || '' : writeError;
    $('error').hidden = !text;
    $('error').textContent = text;
  }

  function clearChannel() {
    state = null;
    windowBytes = new Uint8Array(0);
    windowOffset = 0;
    $('decoded').replaceChildren();
    const dev = document.body.getAttribute('data-device') || '';
    $('title').textContent = 'Channel ' + dev.replace(/^(\d+):(\d+)$/, 'vbus$1:dev$2');
    renderHex();
  }

  // ---- decoded view ------------------------------------------------------------------------------
  function render() {
    const ch = state.channel;
    $('title').textContent = `Channel ${state.name} — ${ch.typeName || ch.typeGuid}`;
    const root = $('decoded');
    const focusedKey = document.activeElement && document.activeElement.getAttribute('data-key');
    const scrollY = window.scrollY;
    root.replaceChildren();
    root.append(
      el('p', {
        class: 'summary',
        text: `${state.name} · physaddr ${hex(ch.physaddr)} · ${ch.nbytes} bytes · type ${ch.typeGuid} · memoryReference ${ch.memoryReference}`,
      }),
    );
    root.append(section('Channel header', 'header', ch.header));
    if (ch.extra && ch.extra.length) root.append(section(`${ch.typeName || 'Type-specific'} fields`, 'extra', ch.extra));
    for (const q of ch.queues) root.append(queueSection(q));
    renderHex();
    window.scrollTo(0, scrollY);
    if (focusedKey) {
      const again = root.querySelector(`[data-key="${CSS.escape(focusedKey)}"]`);
      if (again instanceof HTMLElement) again.focus({ preventScroll: true });
    }
  }

  function section(title, key, fields) {
    const id = `sec-${key}`;
    return el('section', { class: 'block', 'aria-labelledby': id }, el('h2', { id, text: title }), fieldTable(fields, key));
  }

  function fieldTable(fields, key) {
    const body = el('tbody');
    for (const f of fields) body.append(fieldRow(f, key));
    return el(
      'table',
      { class: 'fields' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', { scope: 'col', text: 'field' }),
          el('th', { scope: 'col', text: 'offset' }),
          el('th', { scope: 'col', text: 'size' }),
          el('th', { scope: 'col', text: 'value' }),
          el('th', { scope: 'col', text: '' }),
        ),
      ),
      body,
    );
  }

  function fieldRow(f, key) {
    const valueCell = el('td', { class: 'value', title: f.value }, f.display);
    const rowKey = `${key}/${f.name}/${f.offset}`;
    const row = el(
      'tr',
      {
        tabindex: 0,
        'data-key': rowKey,
        'data-offset': f.offset,
        'data-size': f.size,
        'data-field': f.name,
        'aria-label': `${f.name}, offset ${hex(f.offset)}, ${f.size} bytes, ${f.display}${f.writable ? ', editable: press Enter' : ''}`,
      },
      el('th', { scope: 'row', class: 'name', text: f.name }),
      el('td', { class: 'off', text: hex(f.offset) }),
      el('td', { class: 'size', text: f.size }),
      valueCell,
      el(
        'td',
        { class: 'act' },
        f.writable
          ? el('button', {
              type: 'button',
              class: 'edit',
              tabindex: -1,
              'aria-label': `Edit ${f.name}`,
              text: 'Edit',
              onclick: () => startEdit(f, valueCell, row),
            })
          : null,
      ),
    );
    const show = () => highlight(f.offset, f.size, true);
    row.addEventListener('mouseenter', show);
    row.addEventListener('focus', show);
    row.addEventListener('mouseleave', () => highlight(null));
    row.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && f.writable && !editing) {
        ev.preventDefault();
        startEdit(f, valueCell, row);
      }
    });
    return row;
  }

  function startEdit(f, cell, row) {
    if (editing) return;
    editing = true;
    writeError = '';
    showError(view);
    const input = el('input', {
      type: 'text',
      value: f.value,
      class: 'editor',
      spellcheck: 'false',
      'aria-label': `New value of ${f.name} (number, 0x hex, GUID, "text" or hex:bytes)`,
    });
    cell.replaceChildren(input);
    input.focus();
    input.select();
    const finish = (commit) => {
      if (!editing) return;
      editing = false;
      const value = input.value;
      cell.replaceChildren(f.display);
      row.focus();
      if (commit && value !== f.value) {
        vscode.postMessage({ type: 'writeField', name: f.name, offset: f.offset, size: f.size, value });
      }
    };
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        finish(true);
      } else if (ev.key === 'Escape') {
        ev.preventDefault();
        finish(false);
      }
      ev.stopPropagation();
    });
    input.addEventListener('blur', () => finish(false));
  }

  function queueSection(q) {
    const id = `q-${q.index}`;
    const cap = Math.max(0, q.maxSlots - 1);
    const pendingCount = (((q.head - q.tail) % q.maxSlots) + q.maxSlots) % (q.maxSlots || 1);
    const sec = el(
      'section',
      { class: 'block queue', 'aria-labelledby': id },
      el('h2', { id, text: `Queue ${q.name}` }),
      el('p', {
        class: 'summary',
        text: `header at ${hex(q.offset)} · head ${q.head} · tail ${q.tail} · ${pendingCount}/${cap} pending · ${q.maxSlots} slots × ${q.signalSize} bytes`,
      }),
    );
    const row = el('div', { class: 'queue-row' });
    row.append(ring(q, pendingCount, cap));
    row.append(fieldTable(q.fields, `q${q.index}`));
    sec.append(row);
    const list = el('div', { class: 'pending', role: 'list', 'aria-label': `Pending signals of queue ${q.name}` });
    if (!q.pending.length) list.append(el('p', { class: 'muted', text: 'no pending signal' }));
    for (const p of q.pending) {
      const det = el(
        'details',
        { role: 'listitem', class: 'signal' },
        el('summary', { 'data-offset': p.offset, 'data-size': q.signalSize, text: `slot ${p.slot} @ ${hex(p.offset)} — ${p.summary}` }),
        fieldTable(p.fields, `q${q.index}s${p.slot}`),
      );
      const sum = det.querySelector('summary');
      const show = () => highlight(p.offset, q.signalSize, true);
      sum.addEventListener('mouseenter', show);
      sum.addEventListener('focus', show);
      list.append(det);
    }
    sec.append(list);
    return sec;
  }

  /** The ring of slots: pending slots filled, head and tail marked. */
  function ring(q, pendingCount, cap) {
    const n = Math.max(1, q.maxSlots);
    const size = 180,
      c = size / 2,
      ro = 78,
      ri = 56;
    const s = svg('svg', {
      viewBox: `0 0 ${size} ${size}`,
      width: size,
      height: size,
      class: 'ring',
      role: 'img',
      'aria-label': `Queue ${q.name}: ${pendingCount} of ${cap} signals pending, head ${q.head}, tail ${q.tail}`,
    });
    const pending = new Set();
    for (let i = 1; i <= pendingCount; i++) pending.add((q.tail + i) % n);
    // at most 256 segments: above that a segment stands for several slots
    const segs = Math.min(n, 256);
    const per = n / segs;
    const pt = (r, a) => `${(c + r * Math.cos(a)).toFixed(2)} ${(c + r * Math.sin(a)).toFixed(2)}`;
    for (let k = 0; k < segs; k++) {
      const first = Math.floor(k * per),
        last = Math.floor((k + 1) * per) - 1;
      let full = false;
      for (let i = first; i <= last && !full; i++) full = pending.has(i);
      const gap = segs > 1 ? Math.min(0.02, (Math.PI / segs) * 0.3) : 0;
      const a0 = (2 * Math.PI * k) / segs - Math.PI / 2 + gap,
        a1 = (2 * Math.PI * (k + 1)) / segs - Math.PI / 2 - gap;
      const large = a1 - a0 > Math.PI ? 1 : 0;
      const d =
        segs === 1
          ? `M ${pt(ro, 0)} A ${ro} ${ro} 0 1 1 ${pt(ro, Math.PI)} A ${ro} ${ro} 0 1 1 ${pt(ro, 0)} Z`
          : `M ${pt(ro, a0)} A ${ro} ${ro} 0 ${large} 1 ${pt(ro, a1)} L ${pt(ri, a1)} A ${ri} ${ri} 0 ${large} 0 ${pt(ri, a0)} Z`;
      const p = svg('path', { d, class: full ? 'slot full' : 'slot' });
      const t = svg('title', {});
      t.textContent = per === 1 ? `slot ${first}${full ? ' (pending)' : ''}` : `slots ${first}–${last}${full ? ' (some pending)' : ''}`;
      p.append(t);
      s.append(p);
    }
    const marker = (idx, cls, label) => {
      const a = (2 * Math.PI * ((idx % n) + 0.5)) / n - Math.PI / 2;
      s.append(
        svg('line', {
          x1: c + 30 * Math.cos(a),
          y1: c + 30 * Math.sin(a),
          x2: c + (ro + 8) * Math.cos(a),
          y2: c + (ro + 8) * Math.sin(a),
          class: `marker ${cls}`,
        }),
      );
      const tx = svg('text', { x: c + 40 * Math.cos(a), y: c + 40 * Math.sin(a) + 4, class: `mlabel ${cls}`, 'text-anchor': 'middle' });
      tx.textContent = label;
      s.append(tx);
    };
    marker(q.tail, 'tail', 'T');
    marker(q.head, 'head', 'H');
    const mid = svg('text', { x: c, y: c + 5, 'text-anchor': 'middle', class: 'center' });
    mid.textContent = `${pendingCount}/${cap}`;
    s.append(mid);
    const fig = el(
      'figure',
      { class: 'ringfig' },
      s,
      el('figcaption', {}, el('span', { class: 'key head', text: 'H head' }), ' ', el('span', { class: 'key tail', text: 'T tail' })),
    );
    return fig;
  }

  // ---- hex view ---------------------------------------------------------------------------------
  function renderHex() {
    const body = $('hexBody');
    body.replaceChildren();
    const total = state ? state.channel.nbytes : 0;
    /** @type {HTMLInputElement} */ ($('hexGoto')).value = hex(windowOffset);
    /** @type {HTMLButtonElement} */ ($('hexPrev')).disabled = windowOffset <= 0;
    /** @type {HTMLButtonElement} */ ($('hexNext')).disabled = windowOffset + WINDOW >= total;
    for (let r = 0; r < windowBytes.length; r += 16) {
      const line = el('div', { class: 'hexline' });
      line.append(el('span', { class: 'addr', text: (windowOffset + r).toString(16).padStart(8, '0') }));
      let ascii = '';
      for (let i = r; i < Math.min(r + 16, windowBytes.length); i++) {
        const b = windowBytes[i];
        line.append(el('span', { class: 'byte', 'data-o': windowOffset + i, text: b.toString(16).padStart(2, '0') }));
        ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
      }
      line.append(el('span', { class: 'ascii', text: ascii }));
      body.append(line);
    }
    applyHighlight();
  }

  function highlight(offset, size, follow) {
    highlighted = offset === null ? null : { offset, size };
    if (highlighted && follow && state && (offset < windowOffset || offset >= windowOffset + windowBytes.length)) {
      requestWindow(offset);
    }
    applyHighlight();
  }

  function applyHighlight() {
    for (const b of document.querySelectorAll('.byte.hl')) b.classList.remove('hl');
    if (!highlighted) return;
    let first = null;
    for (const b of document.querySelectorAll('.byte')) {
      const o = Number(b.getAttribute('data-o'));
      if (o >= highlighted.offset && o < highlighted.offset + highlighted.size) {
        b.classList.add('hl');
        first = first || b;
      }
    }
    // bring the bytes into view inside the hex pane only: scrolling the document would move the
    // field under the mouse away
    const box = $('hex');
    if (first && box.scrollHeight > box.clientHeight) {
      const r = first.getBoundingClientRect(),
        b = box.getBoundingClientRect();
      if (r.top < b.top || r.bottom > b.bottom) box.scrollTop += r.top - b.top - b.height / 2;
    }
  }

  function requestWindow(offset) {
    const total = state ? state.channel.nbytes : 0;
    const o = Math.max(0, Math.min(offset - (offset % 16), Math.max(0, total - 1)));
    vscode.postMessage({ type: 'window', offset: o });
  }

  // hovering a byte highlights the field that holds it
  $('hexBody').addEventListener('mouseover', (ev) => {
    const t = /** @type {HTMLElement} */ (ev.target);
    if (!t.classList || !t.classList.contains('byte') || !state) return;
    const o = Number(t.getAttribute('data-o'));
    let best = null;
    for (const row of document.querySelectorAll('tr[data-offset]')) {
      const off = Number(row.getAttribute('data-offset')),
        size = Number(row.getAttribute('data-size'));
      if (o >= off && o < off + size && (!best || size < Number(best.getAttribute('data-size')))) best = row;
    }
    for (const r of document.querySelectorAll('tr.hl')) r.classList.remove('hl');
    if (best) {
      best.classList.add('hl');
      highlight(Number(best.getAttribute('data-offset')), Number(best.getAttribute('data-size')), false);
    }
  });

  $('hexPrev').addEventListener('click', () => requestWindow(Math.max(0, windowOffset - WINDOW)));
  $('hexNext').addEventListener('click', () => requestWindow(windowOffset + WINDOW));
  $('hexGoto').addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter') return;
    const v = /** @type {HTMLInputElement} */ (ev.target).value.trim();
    const n = /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : /^\d+$/.test(v) ? parseInt(v, 10) : NaN;
    if (!Number.isNaN(n)) requestWindow(n);
  });
  $('refresh').addEventListener('click', () => vscode.postMessage({ type: 'refresh' }));
  $('binary').addEventListener('click', () => vscode.postMessage({ type: 'openBinary' }));

  vscode.postMessage({ type: 'ready' });
})();
