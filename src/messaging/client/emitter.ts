/**
 * A small typed event emitter for the messaging client. Environment-neutral:
 * Node's EventEmitter is not in browsers and EventTarget would make every
 * payload an Event, so the client carries its own (a few hundred bytes in the
 * browser bundle).
 */

type Listener<T> = (event: T) => void;

export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  /** Like on(), but the listener runs at most once. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const remove = this.on(event, (value) => {
      remove();
      listener(value);
    });
    return remove;
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(event)?.delete(listener as Listener<never>);
  }

  /**
   * Calls every listener. A listener that throws must not stop the others nor
   * break the client's state machine (it runs inside frame handling), so the
   * error is reported asynchronously, where the host's unhandled-error
   * reporting sees it — as browsers do for throwing event handlers.
   */
  protected emit<K extends keyof Events>(event: K, value: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(value);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
