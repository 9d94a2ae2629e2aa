// Every Prometheus metric the server exports, defined once, on one registry (docs/operations.md, "Metrics", lists
// them). Labels take values from short fixed sets only (route templates, grant types, outcomes), never from request
// input as such, so no caller can grow the number of series.
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** This process's metrics. */
export const registry = new Registry();

// What a cluster worker answers when the primary asks for its metrics over IPC.
AggregatorRegistry.setRegistries([registry]);

/**
 * In the cluster primary, every worker's metrics aggregated (`clusterMetrics()`). Made in every process: in a worker,
 * making one is what starts prom-client answering the primary.
 */
export const clusterRegistry = new AggregatorRegistry();

// CPU, memory, event loop lag, garbage collection, handles: prom-client's standard process metrics, unprefixed so
// that stock Node.js dashboards read them.
collectDefaultMetrics({ register: registry });

const PREFIX = 'chillfi3_auth_';

export const httpRequestDuration = new Histogram({
  name: `${PREFIX}http_request_duration_seconds`,
  help: 'Requests by method, route (the matched route template) and status; _count is the number of requests',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

export const tokensIssued = new Counter({
  name: `${PREFIX}tokens_issued_total`,
  help: 'Successful token endpoint responses, by grant type',
  labelNames: ['grant_type'] as const,
  registers: [registry],
});

export const tokenErrors = new Counter({
  name: `${PREFIX}token_errors_total`,
  help: 'Token endpoint requests refused by the provider, by OAuth error code',
  labelNames: ['error'] as const,
  registers: [registry],
});

export const signIns = new Counter({
  name: `${PREFIX}sign_ins_total`,
  help: 'Password sign-ins by outcome: success, invalid_credentials, locked (refused: the account is locked out), disabled, password_not_set',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const passkeySignIns = new Counter({
  name: `${PREFIX}passkey_sign_ins_total`,
  help: 'Passkey-first sign-ins by outcome: success, or the refusal (expired_challenge, malformed, unknown_passkey, invalid_signature, counter_regressed, counter_raced, locked, disabled)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const rateLimited = new Counter({
  name: `${PREFIX}rate_limited_total`,
  help: 'Requests refused with 429, by limit: login, client-auth-failures, instance',
  labelNames: ['limit'] as const,
  registers: [registry],
});

export const backchannelLogouts = new Counter({
  name: `${PREFIX}backchannel_logouts_total`,
  help: 'Back-channel logout deliveries to instances, by outcome: success, failure',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const storePingDuration = new Histogram({
  name: `${PREFIX}store_ping_duration_seconds`,
  help: 'Round trips of the periodic and readiness pings to each store (database, redis), failed ones included',
  labelNames: ['store'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

export const storeErrors = new Counter({
  name: `${PREFIX}store_errors_total`,
  help: 'Pings to a store (database, redis) that failed or timed out',
  labelNames: ['store'] as const,
  registers: [registry],
});

export const storeUp = new Gauge({
  name: `${PREFIX}store_up`,
  help: 'Whether the last ping to a store (database, redis) succeeded (1) or not (0); across workers, the lowest',
  labelNames: ['store'] as const,
  // Summed over cluster workers a 0 would hide behind the others' 1s: the aggregate is up only if every worker is.
  aggregator: 'min',
  registers: [registry],
});

export const mailSent = new Counter({
  name: `${PREFIX}mail_sent_total`,
  help: 'Mails the relay accepted, by kind',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const mailSendFailures = new Counter({
  name: `${PREFIX}mail_send_failures_total`,
  help: 'Attempts at a mail that failed (relay down or refusing; the mail stays queued and is retried), by kind',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const mailGivenUp = new Counter({
  name: `${PREFIX}mail_given_up_total`,
  help: 'Mails given up as failed: not sent within MAIL_GIVE_UP_HOURS, or to an address that cannot receive mail, by kind',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const mailQueued = new Gauge({
  name: `${PREFIX}mail_queued`,
  help: 'Mails waiting in the outbox (shared by every node: in a cluster the largest of the workers\' readings)',
  aggregator: 'max',
  registers: [registry],
});
