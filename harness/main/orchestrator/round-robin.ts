/**
 * A loopback round-robin HTTP front for several orchestration instances, as a load balancer in
 * front of a deployment would be: the benches see one URL. Each request goes to the next instance;
 * one that refuses the connection (stopped, restarting) is skipped, and a request fails only when
 * every instance refuses. Keep-alive connections to each instance, so the extra hop costs one
 * loopback round trip, not a connection set-up.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RoundRobinFront {
  url: string
  close(): Promise<void>
}

export async function startRoundRobinFront(upstreams: () => string[]): Promise<RoundRobinFront> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })
  let next = 0
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => forward(Buffer.concat(chunks), 0))
    const forward = (body: Buffer, tried: number) => {
      const list = upstreams()
      const target = new URL(req.url ?? '/', list[next++ % list.length])
      const out = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host }, agent }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      })
      out.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED' && tried + 1 < list.length) return forward(body, tried + 1)
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: { code: 'bad_gateway', message: `orchestration instance ${target.host}: ${err.message}` } }))
      })
      out.end(body)
    }
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
        agent.destroy()
      }),
  }
}
