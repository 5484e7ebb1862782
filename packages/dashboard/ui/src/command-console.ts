import { DashboardRequestFailed, type DashboardLink } from './connection.js';
import { h } from './dom.js';
import { formatClock } from './format.js';
import type { Store } from './store.js';

const MAX_ENTRIES = 100;

/** Splits an argument line on spaces; single or double quotes keep spaces inside one argument. */
export function parseArgs(line: string): string[] {
  const args: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(pattern)) args.push(m[1]?.replace(/\\(.)/g, '$1') ?? m[2] ?? m[3] ?? '');
  return args;
}

/** One line of the history, filled in when the outcome arrives. */
export interface HistoryEntry {
  /** Text is shown as is, data as indented JSON. */
  done(result: unknown): void;
  failed(error: unknown): void;
}

/** Pick a node and a command, give arguments, read the result; every outcome stays in the history. */
export class CommandConsole {
  readonly element: HTMLElement;
  private readonly nodeSelect: HTMLSelectElement;
  private readonly commandInput: HTMLInputElement;
  private readonly commandList: HTMLDataListElement;
  private readonly argsInput: HTMLInputElement;
  private readonly hint: HTMLElement;
  private readonly history: HTMLOListElement;
  private readonly commands = new Map<string, string[]>();

  constructor(
    private readonly store: Store,
    private readonly link: DashboardLink,
  ) {
    this.nodeSelect = h('select', { id: 'console-node', name: 'node', required: true, onchange: () => void this.loadCommands() });
    this.commandList = h('datalist', { id: 'console-commands' });
    this.commandInput = h('input', {
      id: 'console-command',
      name: 'command',
      list: 'console-commands',
      required: true,
      autocomplete: 'off',
      autocapitalize: 'off',
      spellcheck: 'false',
      placeholder: 'e.g. connections',
    });
    this.argsInput = h('input', {
      id: 'console-args',
      name: 'args',
      autocomplete: 'off',
      autocapitalize: 'off',
      spellcheck: 'false',
      placeholder: 'space-separated; quote to keep spaces',
    });
    this.hint = h('p', { class: 'hint', id: 'console-hint', 'aria-live': 'polite' });
    this.history = h('ol', { class: 'history', 'aria-label': 'Command history', 'aria-live': 'polite' });
    const clear = h('button', { type: 'button', class: 'btn ghost small', onclick: () => this.history.replaceChildren() }, 'Clear history');
    const form = h(
      'form',
      { class: 'console-form', 'aria-label': 'Run a command', onsubmit: (event: Event) => this.submit(event) },
      h('div', { class: 'field' }, h('label', { for: 'console-node' }, 'Node'), this.nodeSelect),
      h('div', { class: 'field' }, h('label', { for: 'console-command' }, 'Command'), this.commandInput, this.commandList),
      h('div', { class: 'field grow' }, h('label', { for: 'console-args' }, 'Arguments'), this.argsInput),
      h('button', { type: 'submit', class: 'btn primary' }, 'Run'),
    );
    this.element = h(
      'section',
      { class: 'card console', 'aria-labelledby': 'console-title' },
      h('header', { class: 'card-head' }, h('h2', { id: 'console-title' }, 'Command console'), clear),
      form,
      this.hint,
      this.history,
    );
    store.subscribe((change) => {
      if (change.kind === 'nodes') this.fillNodes();
    });
  }

  /** Adds a line for an operation started elsewhere on the page (the node list's buttons). */
  record(name: string, command: string, args: string[] = []): HistoryEntry {
    const started = performance.now();
    const time = h('time', { datetime: new Date().toISOString() }, formatClock(Date.now()));
    const took = h('span', { class: 'took' }, 'running…');
    const body = h('pre', { class: 'entry-body' });
    const entry = h(
      'li',
      { class: 'entry', 'data-state': 'pending', 'data-node': name, 'data-command': command },
      h(
        'div',
        { class: 'entry-head' },
        time,
        h('span', { class: 'entry-node' }, name),
        h('code', null, [command, ...args].join(' ')),
        took,
      ),
      body,
    );
    this.history.prepend(entry);
    while (this.history.children.length > MAX_ENTRIES) this.history.lastElementChild?.remove();
    const finish = (state: 'ok' | 'error'): void => {
      entry.dataset['state'] = state;
      took.textContent = `${Math.round(performance.now() - started)} ms`;
    };
    return {
      done: (result) => {
        body.textContent =
          result === '' || result === null ? '(no output)' : typeof result === 'string' ? result : JSON.stringify(result, null, 2);
        finish('ok');
      },
      failed: (error) => {
        const code = error instanceof DashboardRequestFailed ? error.code : undefined;
        body.replaceChildren(
          h('span', { class: 'error-text' }, error instanceof Error ? error.message : String(error)),
          code === undefined ? '' : h('span', { class: 'error-code' }, code),
        );
        body.setAttribute('role', 'alert');
        finish('error');
      },
    };
  }

  private fillNodes(): void {
    const previous = this.nodeSelect.value;
    this.nodeSelect.replaceChildren(...[...this.store.nodes.keys()].map((name) => h('option', { value: name }, name)));
    if (this.store.nodes.has(previous)) this.nodeSelect.value = previous;
    if (this.nodeSelect.value !== previous) void this.loadCommands();
  }

  private async loadCommands(): Promise<void> {
    const name = this.nodeSelect.value;
    if (name === '') return;
    let commands = this.commands.get(name);
    if (commands === undefined) {
      try {
        const details = await this.link.request<{ commands: string[] }>('GET', `/api/nodes/${encodeURIComponent(name)}`);
        commands = [...details.commands].sort();
        this.commands.set(name, commands);
      } catch (error) {
        this.hint.textContent = `Could not load the commands of ${name}: ${error instanceof Error ? error.message : String(error)}`;
        return;
      }
    }
    if (this.nodeSelect.value !== name) return;
    this.commandList.replaceChildren(...commands.map((c) => h('option', { value: c })));
    this.hint.textContent = `${name} has ${commands.length} commands: ${commands.join(', ')}`;
  }

  private submit(event: Event): void {
    event.preventDefault();
    const name = this.nodeSelect.value;
    const command = this.commandInput.value.trim();
    if (name === '' || command === '') return;
    const args = parseArgs(this.argsInput.value);
    const entry = this.record(name, command, args);
    this.link.command(name, command, args).then(entry.done, entry.failed);
  }
}
