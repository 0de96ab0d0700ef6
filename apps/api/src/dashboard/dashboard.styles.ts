/** The dashboard's stylesheet, served at /app/app.css (the page's CSP allows styles from 'self' only). */
export const DASHBOARD_CSS = String.raw`
:root {
  color-scheme: light;
  --bg: #f4f6f8; --card: #fff; --text: #1b1f24; --muted: #5f6368; --line: #e3e6ea;
  --blue: #1a73e8; --green: #137333; --amber: #a15c00; --red: #b3261e; --grey: #5f6368;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif;
  font-size: 16px;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); }
main { max-width: 64rem; margin: 0 auto; padding: 1rem; display: grid; gap: 1rem;
       grid-template-columns: 1fr; grid-template-areas: "top" "error" "qr" "status" "timeline" "footer"; }
/* On a phone the QR comes first: it is what the person came to scan. */
@media (min-width: 760px) {
  main { grid-template-columns: 1fr 1fr; grid-template-areas: "top top" "error error" "status qr" "timeline qr" "footer footer"; padding: 1.5rem; }
}
.top { grid-area: top; display: flex; align-items: center; justify-content: space-between; gap: 1rem; }
.top h1 { margin: 0; font-size: 1.4rem; }
.sub { margin: .15rem 0 0; color: var(--muted); font-size: .9rem; word-break: break-all; }
#error { grid-area: error; }
#status-card { grid-area: status; }
#qr-card { grid-area: qr; text-align: center; }
#timeline-card { grid-area: timeline; }
footer { grid-area: footer; font-size: .85rem; }
.card { background: var(--card); border-radius: 12px; padding: 1.1rem 1.2rem; box-shadow: 0 1px 3px rgba(0,0,0,.08); min-width: 0; }
.card h2 { margin: 0 0 .5rem; font-size: 1.15rem; }
p { line-height: 1.45; margin: .4rem 0; }
.next { background: #f1f5fe; border-radius: 8px; padding: .55rem .7rem; }
.muted { color: var(--muted); }
.badge { border-radius: 999px; padding: .3rem .75rem; font-size: .85rem; font-weight: 600; white-space: nowrap; background: #e8eaed; color: var(--grey); }
.badge[data-tone="ok"] { background: #e6f4ea; color: var(--green); }
.badge[data-tone="wait"] { background: #fef7e0; color: var(--amber); }
.badge[data-tone="act"] { background: #e8f0fe; color: var(--blue); }
.badge[data-tone="bad"] { background: #fce8e6; color: var(--red); }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .8rem; }
button, a.button { font: inherit; font-weight: 600; border: 0; border-radius: 8px; padding: .6rem 1rem; cursor: pointer;
                   background: var(--blue); color: #fff; text-decoration: none; display: inline-block; min-height: 44px; }
button.secondary { background: #e8eaed; color: var(--text); }
button.danger { background: #fce8e6; color: var(--red); }
button.danger.armed { background: var(--red); color: #fff; }
button:disabled { opacity: .45; cursor: default; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem .8rem; margin: 1rem 0 0; font-size: .9rem; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; word-break: break-word; }
.qr-frame { display: inline-block; background: #fff; padding: .5rem; border: 1px solid var(--line); border-radius: 12px; width: min(100%, 296px); }
.qr-frame img { display: block; width: 100%; height: auto; aspect-ratio: 1 / 1; image-rendering: pixelated; }
.qr-frame.expired img { opacity: .25; }
.countdown { font-variant-numeric: tabular-nums; font-weight: 600; }
.howto { text-align: left; margin: .6rem auto; max-width: 20rem; padding-left: 1.3rem; font-size: .92rem; }
details { text-align: left; margin-top: .8rem; border-top: 1px solid var(--line); padding-top: .7rem; }
summary { cursor: pointer; font-weight: 600; }
label { display: block; margin: .6rem 0 .3rem; font-size: .9rem; }
.row { display: flex; gap: .5rem; }
input { font: inherit; flex: 1; min-width: 0; padding: .55rem .7rem; border: 1px solid #c4c7cc; border-radius: 8px; min-height: 44px; }
.pairing-code { font-size: 1.9rem; letter-spacing: .2em; font-weight: 700; text-align: center; font-variant-numeric: tabular-nums; }
.banner { border-radius: 10px; padding: .8rem 1rem; }
.banner.error { background: #fce8e6; color: var(--red); }
.timeline { list-style: none; margin: 0; padding: 0; font-size: .9rem; }
.timeline li { padding: .45rem 0; border-bottom: 1px solid var(--line); display: flex; gap: .6rem; }
.timeline li:last-child { border-bottom: 0; }
.timeline time { color: var(--muted); font-variant-numeric: tabular-nums; white-space: nowrap; }
code { background: #f1f3f4; padding: .05rem .3rem; border-radius: 4px; word-break: break-all; }
[hidden] { display: none !important; }
/* The operator view (/app/operator): one column, a wide table. */
body.operator main { grid-template-columns: 1fr; grid-template-areas: none; max-width: 80rem; }
body.operator .row .grow { flex: 1; }
.entries { width: 100%; border-collapse: collapse; font-size: .88rem; }
.entries th { text-align: left; color: var(--muted); font-weight: 600; border-bottom: 1px solid var(--line); padding: .35rem .4rem; }
.entries td { vertical-align: top; border-bottom: 1px solid var(--line); padding: .35rem .4rem; }
.entries td.when, .entries td.type { white-space: nowrap; font-variant-numeric: tabular-nums; }
.entries tr[data-kind="dead_letter"] td { background: #fce8e6; }
.entries details { margin: 0; border: 0; padding: 0; }
.entries summary { font-weight: 400; }
`;
