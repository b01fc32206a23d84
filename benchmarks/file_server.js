// A static file server on Node's own http module: little CPU per request, so
// the client, not the server, sets the pace (the Python test peer spends about
// 0.25 ms of CPU per request, which on two cores bounds many small files).
// node benchmarks/file_server.js ROOT [LATENCY_MS] -> prints "READY <port>" once it listens.
// Every answer waits LATENCY_MS first; keep-alive connections; no ranges.
"use strict";
const fs = require("fs");
const http = require("http");
const path = require("path");

const root = path.resolve(process.argv[2]);
const latency = Number(process.argv[3] || 0);

const server = http.createServer((request, response) => {
  const answer = () => {
    const name = decodeURIComponent(new URL(request.url, "http://peer").pathname);
    const file = path.join(root, path.normalize(name));
    if (!file.startsWith(root + path.sep)) {
      response.writeHead(404, { "content-length": 0 }).end();
      return;
    }
    fs.readFile(file, (error, data) => {
      if (error) {
        response.writeHead(404, { "content-length": 0 }).end();
        return;
      }
      response.writeHead(200, { "content-length": data.length, "content-type": "application/octet-stream" });
      response.end(data);
    });
  };
  if (latency > 0) setTimeout(answer, latency);
  else answer();
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => console.log(`READY ${server.address().port}`));
