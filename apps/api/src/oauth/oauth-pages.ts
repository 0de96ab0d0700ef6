/** Server-rendered pages of the install flow: no script, one nonce'd style block, escaped text. */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export const PAGE_STYLE = `
  :root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  body { margin: 0; background: #f4f6f8; color: #1b1f24; }
  main { max-width: 36rem; margin: 0 auto; padding: 2rem 1.25rem; }
  .card { background: #fff; border-radius: 12px; padding: 1.5rem; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
  h1 { font-size: 1.35rem; margin: 0 0 .75rem; }
  p { line-height: 1.5; }
  .ok h1 { color: #137333; } .err h1 { color: #b3261e; }
  a.button { display: inline-block; margin: .25rem .5rem .25rem 0; padding: .6rem 1rem; border-radius: 8px;
             background: #1a73e8; color: #fff; text-decoration: none; font-weight: 600; }
  a.secondary { background: #e8eaed; color: #1b1f24; }
  code { background: #f1f3f4; padding: .1rem .3rem; border-radius: 4px; word-break: break-all; }
  ul { padding-left: 1.2rem; }
  .muted { color: #5f6368; font-size: .9rem; }
`;

export interface PageLink {
  href: string;
  label: string;
  secondary?: boolean;
}

export function renderPage(input: {
  nonce: string;
  kind: 'ok' | 'err';
  title: string;
  paragraphs: string[];
  links?: PageLink[];
  items?: PageLink[];
  correlationId?: string;
}): string {
  const links = (input.links ?? [])
    .map(
      (l) =>
        `<a class="button${l.secondary ? ' secondary' : ''}" href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a>`,
    )
    .join('');
  const items = input.items?.length
    ? `<ul>${input.items.map((l) => `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a></li>`).join('')}</ul>`
    : '';
  const support = input.correlationId
    ? `<p class="muted">Support reference: <code>${escapeHtml(input.correlationId)}</code></p>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.title)} – WhatsApp for GoHighLevel</title>
<style nonce="${input.nonce}">${PAGE_STYLE}</style></head>
<body><main><div class="card ${input.kind}"><h1>${escapeHtml(input.title)}</h1>
${input.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
${items}<p>${links}</p>${support}</div></main></body></html>`;
}
