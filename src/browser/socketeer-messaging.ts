/**
 * The socketeer messaging SDK for browsers: the entry of the one-file ESM
 * bundle (dist/browser/socketeer-messaging.js, built by `npm run build`,
 * served by the hub at /socketeer-messaging.js). The client is the same
 * environment-neutral core the Node client uses; in a page it defaults to the
 * global WebSocket.
 *
 *   <script type="module">
 *     import { MessagingClient } from '/socketeer-messaging.js';
 *     const client = new MessagingClient(`ws://${location.host}/connection`);
 *     client.subscribe('chat:lobby').on('publication', (p) => show(p.offset, p.data));
 *     client.connect();
 *   </script>
 */

export * from '../messaging/client/index.js';
