/**
 * The supervisor behind `pulso up`: runs the pipeline (`pulso run`) as a child process and
 * starts it again whenever it ends without being asked to — a crash, a lost NATS connection,
 * a kill — after a pause that doubles with each quick failure (1 s, 2 s, 4 s … 30 s) and
 * starts over once a run has lasted a minute. Each restart is logged with its cause (exit
 * code or signal, and the child's last line on stderr), and the child reports the count and
 * the last cause on its /metrics (`pulso_supervisor_restarts`, `pulso_supervisor_last_exit`).
 *
 * A child that refuses its configuration (exit 78) is not restarted: that needs a person.
 * A resumed child reads on from its checkpoint, and the crash journal keeps a message that
 * kills it from doing so forever: restarting is always safe. `stop()` sends SIGTERM, waits for
 * the child's clean stop (drain, write, checkpoint) and kills it only past the grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from './log.js';

export interface SupervisorOptions {
  /** The program and its arguments: `node dist/pipeline/cli/main.js run …`. */
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  log: Logger;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** A run that lasted this long resets the delay. */
  healthyAfterMs?: number;
  stopGraceMs?: number;
  /** The child refused its configuration (exit 78): restarting would not help. */
  onRefused?: (cause: string) => void;
}

/** The exit status of a run that refuses its configuration (sysexits' EX_CONFIG). */
export const EXIT_CONFIG = 78;

export class Supervisor {
  private child: ChildProcess | undefined;
  private stopping = false;
  private delay: number;
  private timer: NodeJS.Timeout | undefined;
  private lastCause = '';
  restarts = 0;

  constructor(private readonly o: SupervisorOptions) {
    this.delay = o.initialDelayMs ?? 1000;
  }

  /** Pid of the running child, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.stopping) return;
    const started = Date.now();
    const child = spawn(this.o.command, this.o.args, {
      env: {
        ...this.o.env,
        PULSO_SUPERVISOR_RESTARTS: String(this.restarts),
        PULSO_SUPERVISOR_LAST_EXIT: this.lastCause,
      },
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    this.child = child;
    let lastLine = '';
    child.stderr!.on('data', (d: Buffer) => {
      process.stderr.write(d);
      const lines = d.toString().trim().split('\n');
      lastLine = lines[lines.length - 1] ?? lastLine;
    });
    child.once('exit', (code, signal) => {
      this.child = undefined;
      if (this.stopping) return;
      if (code === EXIT_CONFIG) {
        this.o.log.error(
          { cause: lastLine },
          'the pipeline refused its configuration; not restarting it',
        );
        this.stopping = true;
        this.o.onRefused?.(lastLine);
        return;
      }
      const ranMs = Date.now() - started;
      if (ranMs >= (this.o.healthyAfterMs ?? 60_000)) this.delay = this.o.initialDelayMs ?? 1000;
      this.lastCause = signal
        ? `killed by ${signal}`
        : `exit ${code}${lastLine ? `: ${lastLine}` : ''}`;
      this.restarts++;
      this.o.log.warn(
        { cause: this.lastCause, ranMs, restarts: this.restarts, restartInMs: this.delay },
        'pipeline ended; restarting it',
      );
      this.timer = setTimeout(() => this.start(), this.delay);
      this.delay = Math.min(this.delay * 2, this.o.maxDelayMs ?? 30_000);
    });
  }

  /** Stops the child cleanly (SIGTERM, then SIGKILL past the grace) and restarts no more. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.o.stopGraceMs ?? 30_000);
    await exited;
    clearTimeout(timer);
  }
}
