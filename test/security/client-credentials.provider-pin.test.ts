// src/security/client-credentials.ts reads a request's client authentication ahead of oidc-provider, copying the
// provider's precedence (form secret, then the Basic header, then an assertion, else a bare client_id) and its
// decoding of the Basic header (lib/shared/client_auth.js: base64, then each part form-decoded, VSCHAR only). What the
// stages rely on: a request they call settled is one the provider authenticates as that same client (they answer it in
// the provider's place), and one the provider authenticates is one they read as that client's valid credentials (else
// a success would be counted as a failed guess). The stages settle less than the provider accepts (the provider takes
// a secret in the header or the form whichever of the two the client registered), which only sends more requests on
// to the provider. Held to the installed provider at its introspection endpoint, over requests of every shape.
import { expect } from 'chai';
import { presentedCredentials, settledBySecret } from '../../src/security/client-credentials.js';
import { ROUTES } from '../../src/provider/routes.js';
import { addInstance, basicAuth } from '../support/fixtures.js';
import { postForm, serverAndProviderAlone } from '../support/provider-alone.js';

interface Shape {
  name: string;
  authorization?: string;
  form: Record<string, string>;
}

/** Every character percent-encoded: still the same credentials once form-decoded. */
const percentEncoded = (value: string) => [...Buffer.from(value)].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
const base64 = (value: string) => Buffer.from(value).toString('base64');

describe('src/security/client-credentials.ts against the installed oidc-provider', function () {
  const pinned = serverAndProviderAlone();

  it('[provider-pin] settles only requests the provider authenticates, and reads every one it authenticates as valid credentials', async function () {
    const basic = await addInstance(pinned.server);
    const post = await addInstance(pinned.server, { tokenEndpointAuthMethod: 'client_secret_post' });
    const [a, aSecret] = [basic.instance.clientId, basic.clientSecret];
    const [b, bSecret] = [post.instance.clientId, post.clientSecret];
    /** a's credentials, some characters of the secret percent-encoded so that the raw "id:secret" is 3n + `rest` bytes long. */
    const rawOfLength = (rest: number) => {
      for (let k = 0; k < 3; k++) {
        const raw = `${a}:${percentEncoded(aSecret.slice(0, k))}${aSecret.slice(k)}`;
        if (Buffer.byteLength(raw) % 3 === rest) return raw;
      }
      throw new Error('unreachable: 2k covers every remainder');
    };
    const unpadded = base64(rawOfLength(1)).replace(/=+$/, '');
    const whole = base64(rawOfLength(0));
    const shapes: Shape[] = [
      { name: 'Basic', authorization: basicAuth(a, aSecret), form: {} },
      { name: 'Basic, the same client_id in the form', authorization: basicAuth(a, aSecret), form: { client_id: a } },
      { name: 'Basic, another client_id in the form', authorization: basicAuth(a, aSecret), form: { client_id: b } },
      { name: 'Basic and a form secret', authorization: basicAuth(a, aSecret), form: { client_id: a, client_secret: aSecret } },
      { name: 'Basic, lower-case scheme', authorization: `basic ${base64(`${a}:${aSecret}`)}`, form: {} },
      { name: 'Basic, every character percent-encoded', authorization: `Basic ${base64(`${percentEncoded(a)}:${percentEncoded(aSecret)}`)}`, form: {} },
      { name: 'Basic, a space form-encoded as +', authorization: `Basic ${base64(`${a}:${aSecret}+`)}`, form: {} },
      { name: 'Basic, bad percent-encoding', authorization: `Basic ${base64(`${a}:${aSecret}%zz`)}`, form: {} },
      { name: 'Basic, a control character', authorization: `Basic ${base64(`${a}:${aSecret}%0A`)}`, form: {} },
      { name: 'Basic, not base64', authorization: 'Basic !!!', form: {} },
      { name: 'Basic, base64 without its padding', authorization: `Basic ${unpadded}`, form: {} },
      { name: 'Basic, a stray base64 character', authorization: `Basic ${whole}A`, form: {} },
      { name: 'Basic, padding where none belongs', authorization: `Basic ${whole}=`, form: {} },
      { name: 'Basic, too much padding', authorization: `Basic ${base64(rawOfLength(2))}=`, form: {} },
      { name: 'Basic, no colon', authorization: `Basic ${base64(a)}`, form: {} },
      { name: 'Basic, an empty secret', authorization: `Basic ${base64(`${a}:`)}`, form: {} },
      { name: 'Basic, three parts', authorization: `Basic ${base64(`${a}:${aSecret}`)} x`, form: {} },
      { name: 'Bearer', authorization: `Bearer ${aSecret}`, form: {} },
      { name: 'Basic for a client registered for the form', authorization: basicAuth(b, bSecret), form: {} },
      { name: 'form', form: { client_id: b, client_secret: bSecret } },
      { name: 'form secret without client_id', form: { client_secret: bSecret } },
      { name: 'form for a client registered for Basic', form: { client_id: a, client_secret: aSecret } },
      { name: 'form, wrong secret', form: { client_id: b, client_secret: `${bSecret}x` } },
      { name: 'form, empty secret', form: { client_id: b, client_secret: '' } },
      { name: 'client_id alone', form: { client_id: b } },
      { name: 'form secret and an assertion', form: { client_id: b, client_secret: bSecret, client_assertion: 'a.b.c' } },
      { name: 'nothing', form: {} },
    ];

    const outcomes: string[] = [];
    for (const { name, authorization, form } of shapes) {
      const own = await postForm(pinned.alone.url, ROUTES.introspection, { token: '!', ...form }, authorization ? { authorization } : {});
      const authenticated = own.status === 200;
      const credentials = presentedCredentials(authorization, form);
      const found = credentials ? await pinned.server.services.instances.findWithSecret(credentials.clientId) : null;
      const verdict = credentials && found ? await credentials.check(found) : 'unknown';
      const settled = credentials !== undefined && found !== null && settledBySecret(credentials, found, verdict === 'unknown' ? 'invalid' : verdict, { authorization, form });
      const answered = `${name}: the provider answered ${own.status} ${String(own.body.error_description ?? '')}`;
      if (settled) expect(authenticated, answered).to.equal(true);
      if (authenticated) expect(verdict, `${answered}: read as that client's own credentials`).to.equal('valid');
      outcomes.push(`${name}: ${settled ? 'settled' : 'not settled'}, ${authenticated ? 'authenticated' : 'refused'}`);
    }
    // The shapes the stages settle, and the ones the provider alone accepts: the precedence copied, not a looser one.
    expect(outcomes.filter((outcome) => outcome.includes(': settled'))).to.have.length(6);
    expect(outcomes.filter((outcome) => outcome.endsWith('not settled, authenticated'))).to.deep.equal([
      'Basic for a client registered for the form: not settled, authenticated',
      'form for a client registered for Basic: not settled, authenticated',
    ]);
  });
});
