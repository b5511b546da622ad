// A nats.js peer for tests/corenats/test_interop.py: answers PREFIX.req, publishes PREFIX.pub every 50 ms.
// Usage: node peer.mjs URL PREFIX   (prints "ready" once subscribed; ends when stdin closes)
import { connect, headers } from "nats";

const [url, prefix] = process.argv.slice(2);
const nc = await connect({ servers: url });
const enc = new TextEncoder();
const dec = new TextDecoder();
const sub = nc.subscribe(`${prefix}.req`);
(async () => {
  for await (const m of sub) {
    const h = headers();
    h.set("Peer", "nats.js");
    m.respond(enc.encode(JSON.stringify({ from: "nats.js", got: dec.decode(m.data), trace: m.headers?.get("trace") ?? null })), { headers: h });
  }
})();
await nc.flush();
console.log("ready");
let n = 0;
const timer = setInterval(() => {
  n += 1;
  const h = headers();
  h.set("Peer", "nats.js");
  nc.publish(`${prefix}.pub`, enc.encode(JSON.stringify({ n })), { headers: h });
}, 50);
process.stdin.on("end", async () => { clearInterval(timer); await nc.drain(); process.exit(0); });
process.stdin.resume();
