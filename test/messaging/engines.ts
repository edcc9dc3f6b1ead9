import type {
  EngineHandler,
  HistoryPage,
  HistoryRequest,
  PublishOutcome,
  PublishRequest,
} from '../../src/messaging/engine.js';
import { MemoryEngine } from '../../src/messaging/index.js';
import type { Publication } from '../../src/messaging/protocol.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The memory engine with the timing of a networked one (Redis): every call
 * and every live delivery takes event-loop turns, so publications really do
 * arrive while a subscriber is reading history — the recovery seam. (With the
 * plain memory engine everything happens within one turn and the seam never opens.)
 */
export class LaggyEngine extends MemoryEngine {
  /** Extra turns before a history read answers (makes reads overlap more publishes). */
  historyTurns = 2;
  /** Awaited between reading a history page and answering with it: publications made
   *  meanwhile are newer than the page, so they reach the hub live during recovery. */
  afterHistoryRead: (() => Promise<void>) | undefined;
  /** Live publications for which this returns true are lost on the way (a lossy pub/sub feed). */
  drop: (pub: Publication) => boolean = () => false;
  /** The hub's handler, to call resync on it like a networked engine after feed loss. */
  hubHandler: EngineHandler | undefined;

  override async start(handler: EngineHandler): Promise<void> {
    this.hubHandler = handler;
    const queue: Array<() => void> = [];
    let flushing = false;
    // Live events keep their order (like one pub/sub connection) but arrive a turn later.
    const later = (event: () => void) => {
      queue.push(event);
      if (flushing) return;
      flushing = true;
      setImmediate(() => {
        flushing = false;
        for (const e of queue.splice(0)) e();
      });
    };
    await super.start({
      publication: (c, p: Publication) => {
        if (!this.drop(p)) later(() => handler.publication(c, p));
      },
      join: (c, i) => later(() => handler.join(c, i)),
      leave: (c, i) => later(() => handler.leave(c, i)),
      resync: (c) => later(() => handler.resync(c)),
      readiness: (r) => handler.readiness(r),
    });
  }

  override async subscribe(channel: string): Promise<void> {
    await turn();
    await super.subscribe(channel);
    await turn();
  }

  override async publish(request: PublishRequest): Promise<PublishOutcome> {
    await turn();
    const outcome = await super.publish(request);
    await turn();
    return outcome;
  }

  override async history(request: HistoryRequest): Promise<HistoryPage> {
    for (let i = 0; i < this.historyTurns; i++) await turn();
    const page = await super.history(request);
    await this.afterHistoryRead?.();
    await turn();
    return page;
  }
}
