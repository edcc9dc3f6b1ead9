/**
 * Keeps outgoing frames in order while some of them wait for zlib. When the
 * queue is idle, callers write directly (the fast path); once a job is queued,
 * everything after it queues too, the Close frame included.
 */
export class SendQueue {
  private readonly jobs: Array<(next: () => void) => void> = [];
  private running = false;
  /** Bytes of application data waiting here (part of bufferedAmount). */
  bytes = 0;

  get busy(): boolean {
    return this.running;
  }

  /** Run `job` after every job queued before it; it calls `next` when done. */
  push(job: (next: () => void) => void): void {
    this.jobs.push(job);
    if (!this.running) this.runNext();
  }

  private runNext(): void {
    const job = this.jobs.shift();
    if (!job) {
      this.running = false;
      return;
    }
    this.running = true;
    job(() => this.runNext());
  }
}

export type SendData = string | Buffer | ArrayBuffer | ArrayBufferView;

export function toBuffer(data: SendData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (typeof data === 'string') return Buffer.from(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(
    `expected a string, Buffer, ArrayBuffer or typed array; got ${data === null ? 'null' : typeof data}`,
  );
}
