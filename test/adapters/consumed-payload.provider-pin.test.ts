// adapters/consumed-payload.ts keeps, of a consumed code or refresh token, only what oidc-provider reads before it
// looks at `consumed`. That list is read off the provider's source, so it is checked against the installed provider's
// source: every field the grant handlers and their helpers read before the reuse check must be kept, and any helper
// the token is handed to before that check must be one whose reads are known here. An upgrade that reads more fails
// this test, naming the field or helper to look at (docs/upgrading-oidc-provider.md). The behaviour itself (a reuse
// still revokes the grant) is test/provider/consumed-reuse.test.ts.
import { expect } from 'chai';
import { consumedPayload } from '../../adapters/consumed-payload.js';
import { providerSource } from '../support/provider-alone.js';

/** Getters and methods of the token models: the fields they read (none for the ones that read nothing stored). */
const MEMBER_READS: Readonly<Record<string, readonly string[]>> = {
  isExpired: ['exp'],
  scopes: ['scope'],
};

/** Helpers the token is handed to before the reuse check, and the fields each reads (from their source). */
const HELPER_READS: Readonly<Record<string, readonly string[]>> = {
  entity: [],
  validateAccount: ['accountId'],
  checkAccountMismatch: ['accountId'],
  checkAttestBinding: ['attestationJkt'],
};

/**
 * The fields of `variable` read in `source` between `from` (the start when empty) and `to`, and the helpers `variable`
 * is passed to there.
 */
function readsBetween(source: string, variable: string, from: string, to: string): { fields: Set<string>; helpers: Set<string> } {
  const start = source.indexOf(from);
  const end = source.indexOf(to, start);
  expect(start, `"${from}" in the provider's source`).to.be.at.least(0);
  expect(end, `"${to}" in the provider's source`).to.be.greaterThan(start);
  // From the end of the `from` line: a function's own signature names its parameter without reading it.
  const head = source.slice(source.indexOf('\n', start), end);
  const fields = new Set<string>();
  for (const [, name] of head.matchAll(new RegExp(`\\b${variable}\\??\\.(\\w+)`, 'g'))) fields.add(name!);
  for (const [, name] of head.matchAll(new RegExp(`\\b${variable}\\['([^']+)'\\]`, 'g'))) fields.add(name!);
  const helpers = new Set<string>();
  for (const [, helper, args] of head.matchAll(/(\w+)\(([^()]*)\)/g)) {
    if (args!.split(',').some((arg) => arg.trim() === variable)) helpers.add(helper!);
  }
  return { fields, helpers };
}

/** Every stored field those reads come to. */
function storedFields({ fields, helpers }: { fields: Set<string>; helpers: Set<string> }): string[] {
  for (const helper of helpers) expect(HELPER_READS, `a helper the token is handed to before the reuse check: ${helper}`).to.have.property(helper);
  return [...new Set([...fields].flatMap((field) => MEMBER_READS[field] ?? [field]).concat([...helpers].flatMap((helper) => HELPER_READS[helper]!)))];
}

/** What consumedPayload keeps of a record of `model` that has every one of `fields`. */
function kept(model: string, fields: string[]): string[] {
  return Object.keys(consumedPayload(model, Object.fromEntries(fields.map((field) => [field, 'x'])), 1));
}

describe('adapters/consumed-payload.ts against the installed oidc-provider', function () {
  it('[provider-pin] keeps every field the refresh_token grant reads before its reuse check', function () {
    const reads = storedFields(readsBetween(providerSource('actions/grants/refresh_token.js'), 'refreshToken', '', 'if (refreshToken.consumed)'));
    expect(reads).to.include.members(['clientId', 'grantId', 'exp']);
    expect(kept('RefreshToken', reads)).to.include.members(reads);
  });

  it('[provider-pin] keeps every field the authorization_code grant reads before its reuse check', function () {
    const grant = readsBetween(providerSource('actions/grants/authorization_code.js'), 'code', '', 'await consumeGrantSource(ctx, code');
    // findGrantSource reads the client the code was issued to; the reuse check itself sits in consumeGrantSource.
    const grantSource = providerSource('helpers/grant_source.js');
    const find = readsBetween(grantSource, 'source', 'export async function findGrantSource', 'return source;');
    const reuseCheck = readsBetween(grantSource, 'source', 'export async function consumeGrantSource', 'if (source.consumed)');
    const reads = [find, reuseCheck].reduce((all, part) => [...all, ...storedFields(part)], storedFields(grant));
    expect(reads).to.include.members(['codeChallenge', 'redirectUri', 'grantId', 'clientId']);
    expect(kept('AuthorizationCode', reads)).to.include.members(reads);
  });

  it('[provider-pin] keeps what finding a token bound to its session reads (expiresWithSession tokens)', function () {
    const source = providerSource('models/token_helpers.js');
    const reads = storedFields(readsBetween(source, 'token', 'export async function checkSessionBinding', '\n}\n'));
    expect(reads).to.include.members(['expiresWithSession', 'sessionUid', 'accountId', 'grantId', 'clientId']);
    for (const model of ['RefreshToken', 'AuthorizationCode']) expect(kept(model, reads), model).to.include.members(reads);
  });

  it('[provider-pin] keeps the fields every stored model is found by (BaseModel and BaseToken IN_PAYLOAD basics)', function () {
    const base = ['jti', 'kind', 'iat', 'exp'];
    expect(providerSource('models/base_model.js')).to.match(/IN_PAYLOAD = \[\s*'iat',\s*'exp',\s*'jti',\s*'kind',\s*\]/);
    for (const model of ['RefreshToken', 'AuthorizationCode']) expect(kept(model, [...base, 'clientId']), model).to.include.members([...base, 'clientId']);
  });
});
