import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { ChartPanel } from './charts.js';
import { CommandConsole } from './command-console.js';
import { DashboardLink, type LinkState } from './connection.js';
import { h } from './dom.js';
import { actionAllowed, NodeList, type NodeAction } from './node-list.js';
import { Store } from './store.js';
import { TopologyView } from './topology.js';
import { NodeDetail, TotalsPanel } from './totals.js';

const store = new Store();
const app = document.getElementById('app')!;

// ------------------------------------------------------------ notices

const toasts = h('div', { class: 'toasts', 'aria-live': 'assertive' });

function toast(text: string, kind: 'error' | 'info' = 'error'): void {
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss' }, '×');
  const item = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('span', null, text), close);
  close.addEventListener('click', () => item.remove());
  toasts.append(item);
  window.setTimeout(() => item.remove(), kind === 'error' ? 12_000 : 5_000);
}

const bannerText = h('span');
const retryButton = h('button', { type: 'button', class: 'btn small', onclick: () => link.retryNow() }, 'Retry now');
const banner = h('div', { class: 'banner', role: 'alert', hidden: true }, bannerText, retryButton);
let lostUntil: number | undefined;

function showLost(): void {
  if (lostUntil === undefined) return;
  const seconds = Math.max(0, Math.ceil((lostUntil - performance.now()) / 1000));
  bannerText.textContent =
    seconds > 0 ? `Connection to the dashboard lost. Reconnecting in ${seconds} s…` : 'Connection to the dashboard lost. Reconnecting…';
}

// ------------------------------------------------------------ header

const liveDot = h('span', { class: 'live', 'data-state': 'connecting', role: 'status' }, 'Connecting…');
const counts = h('span', { class: 'counts' });
const allButton = (action: NodeAction, label: string): HTMLButtonElement =>
  h(
    'button',
    { type: 'button', class: `btn ${action === 'stop' ? 'danger' : ''}`, 'data-all': action, onclick: () => void runAll(action) },
    label,
  );
const allButtons = h(
  'div',
  { class: 'all-actions', role: 'group', 'aria-label': 'All nodes' },
  allButton('start', 'Start all'),
  allButton('stop', 'Stop all'),
  allButton('restart', 'Restart all'),
);
const signOut = h('button', { type: 'button', class: 'btn ghost', hidden: true, onclick: () => link.signOut() }, 'Sign out');
const header = h(
  'header',
  { class: 'topbar' },
  h(
    'div',
    { class: 'brand' },
    h('span', { class: 'logo', 'aria-hidden': 'true' }),
    h('h1', null, 'Systemge ', h('span', null, 'dashboard')),
  ),
  h('div', { class: 'status-line' }, liveDot, counts),
  h('div', { class: 'top-actions' }, allButtons, signOut),
);

function updateCounts(): void {
  const nodes = store.list();
  const started = nodes.filter((n) => n.status === 'started').length;
  const down = nodes.filter((n) => n.status === 'disconnected').length;
  counts.textContent = `${nodes.length} node${nodes.length === 1 ? '' : 's'} · ${started} started${down > 0 ? ` · ${down} disconnected` : ''}`;
}

// ------------------------------------------------------------ login

const tokenInput = h('input', { id: 'token', type: 'password', name: 'token', required: true, autocomplete: 'off', spellcheck: 'false' });
const loginError = h('p', { class: 'login-error', role: 'alert', id: 'login-error' });
const loginButton = h('button', { type: 'submit', class: 'btn primary' }, 'Sign in');
const login = h(
  'main',
  { class: 'login', hidden: true },
  h(
    'form',
    {
      class: 'card login-card',
      'aria-labelledby': 'login-title',
      onsubmit: (event: Event) => {
        event.preventDefault();
        void signIn();
      },
    },
    h('h2', { id: 'login-title' }, 'Sign in'),
    h('p', null, 'This dashboard requires its access token.'),
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'Dashboard token'), tokenInput),
    loginError,
    loginButton,
  ),
);

async function signIn(): Promise<void> {
  loginButton.disabled = true;
  loginError.textContent = '';
  try {
    const ok = await link.signIn(tokenInput.value.trim());
    if (!ok) {
      loginError.textContent = 'That token was rejected. Check it and try again.';
      tokenInput.select();
    } else {
      tokenInput.value = '';
    }
  } catch (error) {
    loginError.textContent = `Could not sign in: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    loginButton.disabled = false;
  }
}

// ------------------------------------------------------------ panels

const link = new DashboardLink(onLinkState, (message) => store.apply(message));
// The feed's handshake overlaps with building the page: no message can arrive before this task ends.
link.start();
const commandConsole = new CommandConsole(store, link);
const nodeList = new NodeList(store, runAction);
const topology = new TopologyView(store);
const charts = new ChartPanel(store);
const detail = new NodeDetail(store);
const totals = new TotalsPanel(store, (name) => detail.show(name));
const dashboard = h(
  'main',
  { class: 'layout', hidden: true },
  nodeList.element,
  topology.element,
  charts.element,
  totals.element,
  detail.element,
  commandConsole.element,
);

async function runAction(name: string, action: NodeAction): Promise<void> {
  const entry = commandConsole.record(name, action);
  try {
    entry.done(await link.command(name, action));
  } catch (error) {
    entry.failed(error);
    toast(`Could not ${action} ${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

type AllResults = Record<string, { result: string } | { error: string; code: string }>;

/** Asks before stopping every node (a modal dialog; Escape or "Cancel" keeps them running). */
function confirmStopAll(count: number): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = h('button', { type: 'button', class: 'btn', value: 'cancel' }, 'Cancel');
    const confirm = h(
      'button',
      { type: 'button', class: 'btn danger-solid', value: 'stop' },
      `Stop ${count} node${count === 1 ? '' : 's'}`,
    );
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' },
      h('h2', { id: 'confirm-title' }, 'Stop all nodes?'),
      h('p', { id: 'confirm-text' }, `${count} running node${count === 1 ? '' : 's'} will stop handling messages until started again.`),
      h('div', { class: 'confirm-actions' }, cancel, confirm),
    );
    const finish = (answer: boolean): void => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    cancel.addEventListener('click', () => finish(false));
    confirm.addEventListener('click', () => finish(true));
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** Start, stop or restart every node with one call to the dashboard (`POST /api/nodes/<action>`). */
async function runAll(action: NodeAction): Promise<void> {
  const targets = store.list().filter((n) => actionAllowed(action, n.status));
  if (targets.length === 0) {
    toast(`No node to ${action}.`, 'info');
    return;
  }
  if (action === 'stop' && !(await confirmStopAll(targets.length))) return;
  for (const b of allButtons.querySelectorAll('button')) b.disabled = true;
  const entry = commandConsole.record('all nodes', action);
  try {
    const { results } = await link.request<{ results: AllResults }>('POST', `/api/nodes/${action}`);
    const failed = Object.entries(results).filter(([, r]) => 'error' in r);
    const lines = Object.entries(results).map(([name, r]) =>
      'error' in r ? `${name}: ${r.error} (${r.code})` : `${name}: ${r.result === '' ? 'ok' : r.result}`,
    );
    if (failed.length === 0) entry.done(lines.join('\n'));
    else {
      entry.failed(new Error(lines.join('\n')));
      toast(`Could not ${action} ${failed.map(([name]) => name).join(', ')}.`);
    }
  } catch (error) {
    entry.failed(error);
    toast(`Could not ${action} all nodes: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    for (const b of allButtons.querySelectorAll('button')) b.disabled = false;
  }
}

store.subscribe(() => updateCounts());

function onLinkState(state: LinkState): void {
  liveDot.dataset['state'] = state.kind;
  document.body.dataset['view'] = state.kind === 'login' ? 'login' : 'dashboard';
  lostUntil = undefined;
  banner.hidden = true;
  signOut.hidden = !link.signedIn;
  switch (state.kind) {
    case 'connecting':
      liveDot.textContent = store.loaded ? 'Reconnecting…' : 'Connecting…';
      return;
    case 'live':
      liveDot.textContent = 'Live';
      login.hidden = true;
      dashboard.hidden = false;
      return;
    case 'lost':
      liveDot.textContent = 'Offline';
      lostUntil = state.retryAt;
      banner.hidden = false;
      showLost();
      return;
    case 'login':
      liveDot.textContent = 'Signed out';
      dashboard.hidden = true;
      login.hidden = false;
      if (state.rejected) loginError.textContent = 'The token was rejected. Sign in again.';
      tokenInput.focus();
      return;
  }
}

app.append(header, banner, login, dashboard, toasts);
updateCounts();

window.setInterval(() => {
  nodeList.tick();
  showLost();
}, 1000);

/** Read-only view of what the page shows, for end-to-end tests and debugging in the console. */
Object.defineProperty(window, 'systemgeDashboard', {
  value: Object.freeze({
    nodes: () => store.list().map((n) => ({ name: n.name, status: n.status })),
    edges: () => store.edges.map((e) => ({ ...e })),
    discovered: () => store.discovered.map((e) => ({ ...e })),
    series: (scope: string) => {
      const history = charts.history(scope);
      return history === undefined ? undefined : { t: [...history.t], ...structuredClone(history.values) };
    },
    showChart: (scope: string) => charts.show(scope),
    chartGeometry: () => charts.geometry(),
  }),
});
