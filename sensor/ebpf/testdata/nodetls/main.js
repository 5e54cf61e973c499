// nodetls exercises the probes on OpenSSL linked into an executable
// (Node.js carries its own): it serves HTTPS on a loopback port with the
// certificate and key named in its arguments, prints the address, and once
// a line arrives on stdin calls itself CALLS times over one keep-alive
// connection with the Bearer token TOKEN, then prints "done".
//
// usage: node main.js CALLS TOKEN CERT KEY
'use strict';
const fs = require('fs');
const https = require('https');
const readline = require('readline');

const [calls, token, cert, key] = process.argv.slice(2);
const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) },
  (req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ ok: true, path: req.url }));
    });
  });

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`127.0.0.1:${port}`);
  const rl = readline.createInterface({ input: process.stdin });
  rl.once('line', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < Number(calls); i++) {
      await call(port, agent, i);
    }
    console.log('done');
    rl.once('close', () => process.exit(0));
  });
});

function call(port, agent, i) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ item: i });
    const req = https.request({
      host: '127.0.0.1', port, method: 'POST', path: `/api/items/${i}`, agent,
      rejectUnauthorized: false,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  });
}
