// src/provider/jwt-introspection.ts answers introspection of this server's JWT access tokens in oidc-provider's place,
// in the provider's members and order (lib/actions/introspection.js); for a caller the stages cannot authenticate it
// sends an unknown token on to the provider, lets the provider authenticate the caller, and rewrites the provider's
// `{ "active": false }` for the client the provider put on ctx.oidc. Each of those held to the installed provider.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { ROUTES } from '../../src/provider/routes.js';
import { addAccount, addInstance, basicAuth, clientAssertion, clientCredentialsWithAssertion, codeFlow } from '../support/fixtures.js';
import { postForm, serverAndProviderAlone } from '../support/provider-alone.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe('src/provider/jwt-introspection.ts against the installed oidc-provider', function () {
  const pinned = serverAndProviderAlone();
  before(async function () {
    await addAccount(pinned.server, 'robin');
  });

  it('[provider-pin] the provider answers an unknown token inactive for a caller it authenticated, and the stage rewrites that for its client', async function () {
    const { instance, clientSecret } = await addInstance(pinned.server, { tokenEndpointAuthMethod: 'client_secret_jwt' });
    const assertion = async () => ({
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await clientAssertion(pinned.server, instance.clientId, clientSecret),
    });
    const own = await postForm(pinned.alone.url, ROUTES.introspection, { token: '!', ...(await assertion()) });
    expect([own.status, own.body]).to.deep.equal([200, { active: false }]);

    const issued = await clientCredentialsWithAssertion(pinned.server, (await assertion()).client_assertion);
    const { access_token: token } = (await issued.json()) as { access_token: string };
    const rewritten = await postForm(pinned.server.url, ROUTES.introspection, { token, ...(await assertion()) });
    expect([rewritten.status, rewritten.body.active, rewritten.body.client_id]).to.deep.equal([200, true, instance.clientId]);
  });

  it("[provider-pin] answers a user's token in the provider's members and order", async function () {
    const { instance, clientSecret, client } = await addInstance(pinned.server);
    const auth = { authorization: basicAuth(instance.clientId, clientSecret) };
    const { tokens } = await codeFlow(client, { username: 'robin' });
    const claims = decodeJwt(tokens.access_token);

    // The same token as the provider would hold it stored (lib/models/access_token.js), introspected by the provider.
    const provider = pinned.server.services.liveProvider.current;
    const id = randomBytes(32).toString('base64url');
    const { grant_id: grantId, sub, client_id: clientId, aud, scope, iat, exp, jti: _jti, iss: _iss, ...extra } = claims;
    await provider.AccessToken.adapter.upsert(id, { jti: id, kind: 'AccessToken', iat, exp, clientId, accountId: sub, grantId, aud, scope, extra } as never, 60);
    const own = await postForm(pinned.alone.url, ROUTES.introspection, { token: id }, auth);
    expect(own.body.active, 'the provider reads the record').to.equal(true);

    const answered = await postForm(pinned.server.url, ROUTES.introspection, { token: tokens.access_token }, auth);
    const ours = Object.keys(answered.body);
    const theirs = Object.keys(own.body);
    expect(ours.filter((member) => theirs.includes(member)), 'the order of the members both state').to.deep.equal(theirs);
    // Beyond the provider's: the token's own jti (the provider omits the jti of a token whose id is the token itself).
    expect(ours.filter((member) => !theirs.includes(member))).to.deep.equal(['jti']);
    for (const member of theirs) expect(answered.body[member], member).to.deep.equal(own.body[member]);
  });
});
