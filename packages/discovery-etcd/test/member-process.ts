import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./fixtures/member-process.ts', import.meta.url));

export interface MemberProcess {
  readonly process: ChildProcess;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Forks a process that announces `name` through etcd; resolves once it says `ready`. */
export function forkMember(
  args: { endpoints: string[]; cluster: string; name: string; port: number; leaseTtlSeconds: number },
  timeoutMs = 20_000,
): Promise<MemberProcess> {
  // NODE_OPTIONS from the test environment loads the workspace sources (scripts/source/register.mjs).
  const child = fork(script, [JSON.stringify(args)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const member: MemberProcess = {
    process: child,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void member.kill('SIGKILL');
      reject(new Error(`member process ${args.name} not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`member process ${args.name} exited (${code ?? signal}) before ready`));
    });
    child.on('message', (message: { event?: string }) => {
      if (message.event !== 'ready') return;
      clearTimeout(timer);
      resolve(member);
    });
  });
}
