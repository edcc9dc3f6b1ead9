// socketeer proxy under test: `node servers/proxy.mjs '{"backend":"ws://127.0.0.1:PORT","mode":"splice"}'`.
import { ReverseProxy } from '../../dist/src/proxy/index.js';
import { options, ready } from './control.mjs';

const proxy = new ReverseProxy({
  port: 0,
  host: '127.0.0.1',
  routes: [{ backends: [options.backend], mode: options.mode ?? 'splice' }],
});
const { port } = await proxy.listen();
ready(port);
