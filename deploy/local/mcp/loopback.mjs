// Preloaded (node --import) into a server that has no setting for its listen address (the
// reference MCP server `everything` calls app.listen(PORT) and so binds every interface): a
// listen(port) without a host binds 127.0.0.1 instead, so the server is reachable only from this
// machine, through the gateway. Listens that name a host, a path or a handle are left alone.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const [first, second] = args;
  const portOnly = (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) && typeof second !== 'string';
  if (portOnly) return listen.call(this, Number(first), '127.0.0.1', ...args.slice(1).filter((a) => typeof a === 'function' || typeof a === 'number'));
  if (first !== null && typeof first === 'object' && !('path' in first) && !('handle' in first) && !('fd' in first) && first.host === undefined)
    return listen.call(this, { ...first, host: '127.0.0.1' }, ...args.slice(1));
  return listen.apply(this, args);
};
