// The Prometheus scrape endpoint, GET /metrics, on a listener of its own (AUTH_METRICS_HOST:AUTH_METRICS_PORT, the
// loopback by default): metrics never reach the public port. Off when AUTH_METRICS_PORT is unset.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../../config/index.js';
import { listen } from '../http/listen.js';
import type { Logger } from '../logger.js';
import { clusterRegistry, registry } from './metrics.js';

/**
 * Serves this process's metrics ('process'), or in the primary of AUTH_WORKERS > 1 ('cluster-primary') the aggregate
 * of every worker's, asked for over IPC at each scrape: counters and histograms summed, gauges as each one states.
 * Resolves once listening; undefined when metrics are off.
 */
export async function startMetricsServer(config: Config, logger: Logger, mode: 'process' | 'cluster-primary'): Promise<Server | undefined> {
  if (!config.metrics) return undefined;
  const scrape = mode === 'cluster-primary' ? () => clusterRegistry.clusterMetrics() : () => registry.metrics();
  const server = createServer(function serveMetrics(req, res) {
    const path = new URL(req.url ?? '/', 'http://metrics').pathname;
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    scrape().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        // A worker that does not answer within prom-client's 5 seconds fails the whole scrape.
        logger.warn({ err }, 'metrics scrape failed');
        res.writeHead(503, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
      },
    );
  });
  const { port, host } = config.metrics;
  await listen(server, port, host);
  logger.info({ host, port: (server.address() as AddressInfo).port, mode }, 'metrics listening');
  return server;
}
