import type { Publication, StreamPosition } from '../protocol.js';

/**
 * Where a subscription stands in its channel's stream, and what to do with the
 * next publication. The server numbers publications 1, 2, 3, ... per channel
 * within an epoch (docs/protocol.md), so the client can tell, without asking:
 *  - offset = last + 1, same epoch: the next one -> deliver;
 *  - offset <= last, same epoch: already delivered (a replay at a recovery
 *    seam) -> drop, never deliver twice;
 *  - offset > last + 1: something in between is missing -> do not deliver a
 *    gap; recover from `last` first;
 *  - another epoch: the channel's history was lost/reset -> recover, and the
 *    server will say whether that worked (recovered: false otherwise).
 */
export type Verdict = 'deliver' | 'duplicate' | 'gap' | 'epoch-changed';

export class PositionTracker {
  #position: StreamPosition | undefined;

  constructor(start?: StreamPosition) {
    this.#position = start ? { epoch: start.epoch, offset: start.offset } : undefined;
  }

  /** The last delivered position (undefined before the first subscribe reply). */
  get position(): StreamPosition | undefined {
    return this.#position ? { ...this.#position } : undefined;
  }

  /** Starts over from `position` (a subscribe reply that did not recover). */
  reset(position: StreamPosition): void {
    this.#position = { epoch: position.epoch, offset: position.offset };
  }

  /** Classifies `pub` against the position; advances the position when the verdict is 'deliver'. */
  accept(pub: Pick<Publication, 'epoch' | 'offset'>): Verdict {
    const current = this.#position;
    if (!current) throw new Error('PositionTracker.accept() before any position is known');
    if (pub.epoch !== current.epoch) return 'epoch-changed';
    if (pub.offset <= current.offset) return 'duplicate';
    if (pub.offset !== current.offset + 1) return 'gap';
    current.offset = pub.offset;
    return 'deliver';
  }
}
