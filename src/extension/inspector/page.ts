/**
 * The channel inspector's HTML page: a strict content security policy (only the bundled script and
 * style, by nonce), the toolbar, a notice line for "no session" / "no such device", and the panes
 * media/inspector.js fills. The device id rides on <body> so a restored tab knows what it showed.
 */
import * as crypto from 'crypto';
import * as vscode from 'vscode';
import { deviceDisplayName } from '../protocol';

export function inspectorHtml(webview: vscode.Webview, extensionUri: vscode.Uri, device: string): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  const media = (f: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', f)).toString();
  const csp = `default-src 'none'; script-src 'nonce-${nonce}'; style-src ${webview.cspSource} 'nonce-${nonce}'`;
  const title = `Channel ${deviceDisplayName(device)}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" nonce="${nonce}" href="${media('inspector.css')}">
<title>${escapeHtml(title)}</title>
</head>
<body data-device="${escapeHtml(device)}">
<header class="toolbar" role="toolbar" aria-label="Channel inspector">
  <h1 id="title">${escapeHtml(title)}</h1>
  <span id="status" class="status" role="status" aria-live="polite">loading…</span>
  <button id="refresh" type="button" aria-label="Refresh the channel">Refresh</button>
  <button id="binary" type="button" aria-label="Open the channel memory in VS Code's binary view">Open in binary view</button>
</header>
<div id="notice" class="notice" role="status" aria-live="polite" hidden></div>
<div id="error" class="error" role="alert" hidden></div>
<main class="layout">
  <section id="decoded" class="decoded" aria-label="Decoded channel"></section>
  <section id="hex" class="hex" aria-label="Channel bytes">
    <div class="hexnav">
      <button id="hexPrev" type="button" aria-label="Previous bytes">◀</button>
      <label for="hexGoto">offset</label>
      <input id="hexGoto" type="text" size="10" spellcheck="false" aria-label="Go to channel offset (hex or decimal)">
      <button id="hexNext" type="button" aria-label="Next bytes">▶</button>
    </div>
    <pre id="hexBody" class="hexbody" tabindex="0" aria-label="Hex dump"></pre>
  </section>
</main>
<script nonce="${nonce}" src="${media('inspector.js')}"></script>
</body>
</html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
