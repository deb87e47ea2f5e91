import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyedLock } from '../keyed-lock.js';

/** An error QEMU answered a command with ({"error": {"class", "desc"}}); the class says what kind. */
export class QmpCommandError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
    this.name = 'QmpCommandError';
  }
}

/** The monitor's connection ended before QEMU answered: it exited, is exiting, or dropped this client. */
export class QmpConnectionClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QmpConnectionClosedError';
  }
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

type Message = { QMP?: unknown; id?: string; return?: unknown; error?: { class: string; desc: string } } & Partial<QmpEvent>;

/**
 * A QEMU Machine Protocol session over the instance's unix socket: JSON objects, one a line. QEMU greets, we answer
 * qmp_capabilities to leave negotiation mode, then commands carry ids so their answers can be told from the events
 * that arrive in between. QEMU serves one client a socket at a time (others wait in the backlog), so sessions are
 * kept short: open, ask, close.
 */
export class QmpClient {
  private buffer = '';
  private nextId = 0;
  private readonly pending = new Map<string, Pending>();
  private readonly eventListeners = new Set<(event: QmpEvent) => void>();
  private greeted!: () => void;
  private closedWith: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new QmpConnectionClosedError('the QMP connection closed (QEMU exited or dropped it)')));
  }

  /**
   * Connects, waits for the greeting and negotiates capabilities; rejects after timeoutMs (a busy or hung QEMU).
   * While another client holds the monitor, QEMU accepts no one and its one-place backlog fills: connect then fails at
   * once with EAGAIN, which is retried until the deadline.
   */
  static async connect(socketPath: string, timeoutMs: number): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
      try {
        return await QmpClient.connectOnce(socketPath, Math.max(1, deadline - Date.now()));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() + pause >= deadline) throw error;
        await sleep(pause);
      }
    }
  }

  private static async connectOnce(socketPath: string, timeoutMs: number): Promise<QmpClient> {
    const socket = connect(socketPath);
    const client = new QmpClient(socket);
    const timer = setTimeout(() => client.fail(new Error(`QMP at ${socketPath} did not greet within ${timeoutMs} ms`)), timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        client.greeted = resolve;
        socket.once('error', reject);
        socket.once('close', () => reject(client.closedWith ?? new QmpConnectionClosedError('the QMP connection closed before the greeting')));
      });
      await client.execute('qmp_capabilities');
      return client;
    } catch (error) {
      client.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs one command; rejects with QmpCommandError when QEMU refuses it, or when the connection ends first. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = `gale-${++this.nextId}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`QMP ${command} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        command,
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  /** Calls listener with every asynchronous event (SHUTDOWN, RESET, STOP...) until the returned function is called. */
  onEvent(listener: (event: QmpEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Resolves with the first event of that name, or rejects after timeoutMs or when the connection ends. */
  waitForEvent(name: string, timeoutMs: number): Promise<QmpEvent> {
    return new Promise<QmpEvent>((resolve, reject) => {
      let unsubscribe = (): void => undefined;
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error(`no QMP ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      unsubscribe = this.onEvent((event) => {
        if (event.event !== name) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(event);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    for (let newline = this.buffer.indexOf('\n'); newline >= 0; newline = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line !== '') this.dispatch(line);
    }
  }

  private dispatch(line: string): void {
    let message: Message;
    try {
      message = JSON.parse(line) as Message;
    } catch {
      return this.fail(new Error(`QMP sent a line that is not JSON: ${line.slice(0, 200)}`));
    }
    if (message.QMP !== undefined) return this.greeted?.();
    if (typeof message.event === 'string') {
      for (const listener of this.eventListeners) listener(message as QmpEvent);
      return;
    }
    const pending = message.id === undefined ? undefined : this.pending.get(message.id);
    if (!pending || message.id === undefined) return;
    this.pending.delete(message.id);
    if (message.error) pending.reject(new QmpCommandError(pending.command, message.error.class, message.error.desc));
    else pending.resolve(message.return);
  }

  private fail(error: Error): void {
    if (this.closedWith) return;
    this.closedWith = error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    this.socket.destroy();
  }
}

/** One session a socket at a time in this process: QEMU would refuse the others while one is open. */
const sessions = new KeyedLock();

/** Opens a session, runs work in it and always closes it, so the socket is free for the next caller. */
export function withQmp<T>(socketPath: string, timeoutMs: number, work: (client: QmpClient) => Promise<T>): Promise<T> {
  return sessions.run(socketPath, async () => {
    const client = await QmpClient.connect(socketPath, timeoutMs);
    try {
      return await work(client);
    } finally {
      client.close();
    }
  });
}
