/**
 * One client connection speaking socketeer.v1.json: framing, limits, the
 * outbound queue bound, the connect handshake and dispatch of commands
 * (docs/protocol.md). Every command gets exactly one reply unless the
 * connection closes first; nothing a client sends can throw out of here.
 * Its parts: session-channels.ts (subscriptions), session-commands.ts (the
 * commands after connect), session-credential.ts (authenticate, refresh,
 * expiry), session-admission.ts (per-connection limits), session-heartbeat.ts,
 * session-outbox.ts (writes batched per event-loop turn), session-parts.ts
 * (stateless helpers).
 */

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { badRequest, parseCommand } from './commands.js';
import type { HubContext, Identity, SessionLike } from './context.js';
import {
  type ClientInfo,
  CloseCodes,
  type ConnectParams,
  type ConnectResult,
  type ErrorBody,
  ErrorCodes,
  PROTOCOL_VERSION,
  type Publication,
  type Push,
  shouldReconnect,
  UnsubscribeCodes,
} from './protocol.js';
import { Admission } from './session-admission.js';
import { SessionChannels } from './session-channels.js';
import { executeCommand } from './session-commands.js';
import { SessionCredential } from './session-credential.js';
import { heartbeatOf } from './session-heartbeat.js';
import { type OutboundMessage, Outbox } from './session-outbox.js';
import { connectFailureCode, encodePub, frozen, preparePub, toErrorBody } from './session-parts.js';
import { OPEN, type SessionSocket } from './session-socket.js';
import type { Subscription, SubscriptionOwner } from './subscription.js';

export type { SessionSocket } from './session-socket.js';

/** A push handed over as an object (in-process connections only: they have sendPush). */
const isPush = (data: OutboundMessage | Push): data is Push =>
  typeof data === 'object' && !Buffer.isBuffer(data) && 'push' in data;

/** Bytes queued (outbox and socket) above which a paged recovery waits (writable()) before queueing more. */
const OUTBOX_HIGH_WATER = 64 * 1024;

export class Session implements SubscriptionOwner, SessionLike {
  /** This connection's unique id (the protocol's `client`). */
  readonly client: string = randomUUID();
  user = '';
  info: unknown;
  /** Who this connection is, as others see it in presence and publications (after connect). */
  clientInfo: ClientInfo | undefined;
  state: 'new' | 'connecting' | 'connected' | 'closed' = 'new';
  readonly channels: SessionChannels;
  readonly credential: SessionCredential;
  private connectTimer: NodeJS.Timeout | undefined;
  /** The code and reason this side closed with (the 'disconnect' event reports them). */
  private closedWith: [number, string] | undefined;
  private readonly admission: Admission;
  /** Everything this session writes waits here until the event-loop iteration ends (session-outbox.ts). */
  private readonly outbox = new Outbox({
    writeNow: (message) => {
      this.writeNow(message);
    },
    // Without permessage-deflate a text message is the same bytes framed by send() or prepared.
    textAsPrepared: () => !this.ws.extensions,
  });

  /**
   * The creator feeds the connection's events to onMessage() and onClose().
   * `identity` (in-process connections) skips the authenticate hook.
   */
  constructor(
    readonly ctx: HubContext,
    readonly ws: SessionSocket,
    request: IncomingMessage | undefined,
    presetIdentity?: Identity,
  ) {
    this.credential = new SessionCredential(ctx, request, ws.clientAddress, presetIdentity, () =>
      this.disconnect(CloseCodes.tokenExpired, 'the credential expired and was not refreshed'),
    );
    this.channels = new SessionChannels(ctx, this);
    this.admission = new Admission(ctx.settings);
    this.connectTimer = setTimeout(() => {
      this.disconnect(
        CloseCodes.connectTimeout,
        `no connect command within ${ctx.settings.connectTimeout} ms`,
      );
    }, ctx.settings.connectTimeout);
  }

  /** Send a direct message (`message` push). */
  send(data: unknown): boolean {
    return this.write(JSON.stringify({ push: 'message', data } satisfies Push));
  }

  /** Subscribed channels. */
  subscribedChannels(): string[] {
    return this.channels.names();
  }

  /** End one subscription from the server side (`unsubscribed` push, code 2000 unless given). */
  unsubscribe(
    channel: string,
    reason = 'unsubscribed by the server',
    code: number = UnsubscribeCodes.server,
  ) {
    return this.channels.endByServer(channel, code, reason);
  }

  /** Tell the client to go (disconnect push with reconnect advice from the code), then close. */
  disconnect(code: number, reason: string): void {
    if (this.state === 'closed') return;
    const text = reason.length > 100 ? `${reason.slice(0, 100)}...` : reason;
    if (this.ws.readyState === OPEN) {
      // What is queued goes first, then the advice, then the Close frame.
      this.outbox.flush();
      const push: Push = { push: 'disconnect', code, reason: text, reconnect: shouldReconnect(code) };
      this.ws.send(JSON.stringify(push), { binary: false });
      this.ws.close(code, text);
      this.closedWith = [code, text];
    }
    this.release();
  }

  // ------------------------------------------------------------ SubscriptionOwner

  get clientId(): string {
    return this.client;
  }

  deliver(channel: string, pub: Publication): boolean {
    // A live fan-out writes the publication's shared frame; only the checks in write() are per connection.
    if (this.ws.sendPrepared) return this.write(preparePub(channel, pub));
    // In-process connections take the object itself: shared with every subscriber, so frozen.
    if (this.ws.sendPush) return this.write({ push: 'pub', channel, pub: frozen(pub) });
    return this.write(encodePub(channel, pub));
  }

  writable(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(new Error('connection closed'));
    return this.outbox.flushed().then(() => this.ws.drained());
  }

  lostSync(subscription: Subscription, reason: string): void {
    this.channels.endByServer(subscription.channel, UnsubscribeCodes.insufficientState, reason);
  }

  joinLeave(kind: 'join' | 'leave', channel: string, info: ClientInfo): void {
    if (info.client === this.client) return; // one's own join is in the subscribe reply
    if (this.ws.sendPush) this.write({ push: kind, channel, info: frozen(info) });
    else this.write(JSON.stringify({ push: kind, channel, info } satisfies Push));
  }

  refreshPresence(): void {
    this.channels.refreshPresence();
  }

  // ------------------------------------------------------------ outbound

  /**
   * The outbound bound: once more than maxOutboundBytes wait for this client,
   * it is a slow consumer. It is told to reconnect and recover (4001) instead
   * of being allowed to hold memory or slow the publishers (the cap is on
   * accumulation: one message may go on top of a buffer below it).
   */
  write(data: OutboundMessage | Push, reply = false): boolean {
    if (this.state === 'closed' || this.ws.readyState !== OPEN) return false;
    const buffered = this.ws.bufferedAmount;
    if (buffered + this.outbox.bytes >= this.ctx.settings.maxOutboundBytes) {
      this.disconnect(
        CloseCodes.slowConsumer,
        `slow consumer: more than ${this.ctx.settings.maxOutboundBytes} bytes queued`,
      );
      return false;
    }
    // In-process connections take each message at once: there is no write to save.
    if (!this.ws.sendPrepared || isPush(data)) return this.writeNow(data);
    this.outbox.push(data, reply);
    return buffered + this.outbox.bytes < OUTBOX_HIGH_WATER;
  }

  /** The outbox hands its messages over here, in order. */
  private writeNow(data: OutboundMessage | Push): boolean {
    if (this.ws.readyState !== OPEN) return false;
    if (typeof data === 'string' || Buffer.isBuffer(data)) return this.ws.send(data, { binary: false });
    if (isPush(data)) return this.ws.sendPush!(data);
    return this.ws.sendPrepared!(data);
  }

  private reply(id: number, result: unknown): void {
    let frame: string;
    try {
      frame = JSON.stringify({ id, result });
    } catch (error) {
      // A hook's or rpc handler's value JSON cannot encode (BigInt, a cycle): still exactly one reply.
      return this.replyError(id, toErrorBody(this.ctx, error));
    }
    this.write(frame, true);
  }

  private replyError(id: number, error: ErrorBody): void {
    this.write(JSON.stringify({ id, error }), true);
  }

  // ------------------------------------------------------------ inbound

  onMessage(data: string | Buffer, isBinary: boolean): void {
    if (this.state === 'closed') return;
    if (isBinary) {
      return this.badCommand(
        0,
        badRequest('binary messages are not part of socketeer.v1.json; send JSON text'),
      );
    }
    const parsed = parseCommand(typeof data === 'string' ? data : data.toString('utf8'));
    if (parsed.ok === 'pong') return; // heard: the heartbeat counts bytes, nothing else to do
    if (!parsed.ok) return this.badCommand(parsed.id, parsed.error);
    const command = parsed.command;
    const refusal = this.admission.refusal();
    if (refusal) return this.replyError(command.id, refusal);
    if (command.cmd === 'connect') {
      // A throwing 'connect' listener (application code) must not become an unhandled rejection.
      this.connect(command.id, command.params ?? {}).catch((error) => this.ctx.reportError(error));
      return;
    }
    if (this.state !== 'connected') {
      return this.badCommand(command.id, {
        code: ErrorCodes.notConnected,
        message: 'send connect first (and wait for its reply)',
        temporary: false,
      });
    }
    this.admission.begin();
    executeCommand(
      {
        ctx: this.ctx,
        client: this.clientInfo!,
        channels: this.channels,
        credential: this.credential,
        keyBudget: this.admission.keyBudget,
      },
      command,
    ).then(
      (outcome) => {
        this.admission.end();
        this.reply(command.id, outcome.result);
        outcome.after?.();
      },
      (error) => {
        this.admission.end();
        this.replyError(command.id, toErrorBody(this.ctx, error));
      },
    );
  }

  private badCommand(id: number, error: ErrorBody): void {
    this.replyError(id, error);
    const tooMany = this.admission.bad();
    if (tooMany) this.disconnect(CloseCodes.badRequest, tooMany);
  }

  // ------------------------------------------------------------ connect

  private async connect(id: number, params: ConnectParams): Promise<void> {
    if (this.state !== 'new') {
      return this.replyError(id, {
        code: ErrorCodes.alreadyConnected,
        message: 'connect was already sent on this connection',
        temporary: false,
      });
    }
    this.state = 'connecting';
    this.admission.begin();
    let identity: Identity;
    try {
      await this.ctx.started;
      identity = await this.credential.connect(params.token, params.data, params.name);
    } catch (error) {
      this.admission.end();
      const body = toErrorBody(this.ctx, error);
      this.replyError(id, body);
      return this.disconnect(connectFailureCode(body), body.message);
    }
    if (this.state !== 'connecting') return; // closed meanwhile
    clearTimeout(this.connectTimer);
    this.user = identity.user;
    this.info = identity.info;
    this.clientInfo =
      identity.info === undefined
        ? { user: identity.user, client: this.client }
        : { user: identity.user, client: this.client, info: identity.info };
    this.state = 'connected';
    this.credential.arm(identity.expiresAt);
    this.ctx.sessionConnected(this);
    const heartbeat = heartbeatOf(this.ctx, this.ws);
    heartbeat?.add(this);
    // Every channel recovers in parallel; their recovered publications all precede the reply.
    const { results: subs, started } = await this.channels.subscribeMany(params.subs ?? {});
    this.admission.end();
    const result: ConnectResult = { client: this.client, user: this.user, version: PROTOCOL_VERSION, subs };
    const expiresIn = this.credential.expiresIn();
    if (expiresIn !== undefined) result.expiresIn = expiresIn;
    if (identity.data !== undefined) result.data = identity.data;
    if (heartbeat) result.pingInterval = this.ctx.settings.pingInterval;
    this.reply(id, result);
    for (const subscription of started) subscription.activate();
  }

  // ------------------------------------------------------------ teardown

  onClose(code: number, reason: string): void {
    this.release();
    // The hub's own verdict (e.g. 4005) is the reason, even if the socket then ended without a handshake (1006).
    const [finalCode, finalReason] = this.closedWith ?? [code, reason];
    this.ctx.sessionClosed(this, finalCode, finalReason);
  }

  /** Let go of everything this connection holds: subscriptions, presence, timers. */
  private release(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.outbox.close();
    clearTimeout(this.connectTimer);
    this.credential.release();
    heartbeatOf(this.ctx, this.ws)?.remove(this);
    this.channels.releaseAll();
  }
}
