// uWebSockets.js from the third-party `uwebsockets@3.0.6` republish: loaded here only.
import uWS from 'uwebsockets';
import { BROADCAST_MESSAGE, MAX_PAYLOAD, options, ready } from './control.mjs';

const broadcast = options.mode === 'broadcast';
const app = uWS.App().ws('/*', {
  compression: options.deflate ? uWS.SHARED_COMPRESSOR : uWS.DISABLED,
  maxPayloadLength: MAX_PAYLOAD,
  maxBackpressure: 1024 * 1024 * 1024, // never drop an echo
  idleTimeout: 0,
  sendPingsAutomatically: false,
  open: (ws) => broadcast && ws.subscribe('all'),
  message: broadcast
    ? () => app.publish('all', BROADCAST_MESSAGE, true)
    : (ws, message, isBinary) => ws.send(message, isBinary),
});
app.listen('127.0.0.1', 0, (token) => {
  if (!token) throw new Error('uWS could not listen');
  ready(uWS.us_socket_local_port(token));
});
