// The benchmark's protocol baseline: a bare oidc-provider (its in-memory adapter, static clients, nothing of ours), on
// the loopback port given in PORT, signing JWT access tokens with the same algorithm as the server (ES256). Two clients:
// `bare-jwt` gets JWT access tokens through a resource indicator, as our instances do; `bare-opaque` gets the
// provider's opaque tokens, the only kind its introspection takes. Prints "listening" when ready.
import { generateKeyPair, exportJWK } from 'jose';
import { Provider, type ResourceServer } from 'oidc-provider';

/** Both clients' secret, from the benchmark (BARE_SECRET). */
const secret = process.env.BARE_SECRET ?? 'bare-provider-benchmark-secret';
const RESOURCE = 'urn:bench:api';

const port = Number(process.env.PORT ?? 0);
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'bench' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: ['bare-jwt', 'bare-opaque'].map((clientId) => ({
    client_id: clientId,
    client_secret: secret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    // The only key is ES256, like the server's access-token key.
    id_token_signed_response_alg: 'ES256',
  })),
  jwks: { keys: [jwk] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx) => (ctx.oidc.client?.clientId === 'bare-jwt' ? RESOURCE : undefined) as string,
      useGrantedResource: () => true,
      getResourceServerInfo: (): ResourceServer => ({
        scope: 'api',
        audience: 'bare-jwt',
        accessTokenFormat: 'jwt',
        accessTokenTTL: 900,
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write('listening\n');
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
