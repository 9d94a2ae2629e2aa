import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { freePort } from '../support/free-port.js';
import { output, startMain, waitForLog } from '../support/main-process.js';
import { scrape } from '../support/prometheus-text.js';
import { TEST_SECRET_KEY } from '../support/test-server.js';

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

describe('metrics in cluster mode', function () {
  let dataDir: string;
  beforeEach(function () {
    dataDir = mkdtempSync(join(tmpdir(), 'chillfi3-metrics-'));
  });
  afterEach(function () {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts the requests of both workers of `AUTH_WORKERS=2` on the primary\'s metrics port', async function () {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const child = startMain({
      AUTH_DATA_DIR: dataDir,
      AUTH_SECRET_KEY: TEST_SECRET_KEY,
      AUTH_PORT: String(port),
      AUTH_HOST: '127.0.0.1',
      AUTH_WORKERS: '2',
      AUTH_METRICS_PORT: String(metricsPort),
    });
    const read = output(child);
    try {
      await waitForLog(read, /metrics listening/, child);
      await waitForLog(read, /chillfi3-auth listening[\s\S]*chillfi3-auth listening/, child);
      // node:cluster hands connections to the workers in turn (round-robin): without keep-alive the requests are split
      // between both, so the total is reached only if the primary counted both.
      const requests = 20;
      for (let i = 0; i < requests; i++) {
        const response = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { connection: 'close' } });
        await response.text();
      }
      const metrics = await scrape(metricsPort);
      expect(metrics.value('chillfi3_auth_http_request_duration_seconds_count', { method: 'GET', route: '/healthz', status: '200' })).to.equal(requests);
      expect(metrics.value('process_cpu_user_seconds_total')).to.be.a('number');
    } finally {
      await stop(child);
    }
  });
});
