// A real OpenID provider for Pan's single sign-on tests: node's oidc-provider (installed by
// `make oidc` into var/oidc), with its development login form (any listed user, any password).
//
// Everything comes from the environment:
//   OIDC_PROVIDER_MODULE  path of oidc-provider's lib/index.js (var/oidc/node_modules/...)
//   PORT                  port to listen on (0: the OS picks one)
//   CLIENT_ID, CLIENT_SECRET  the one client (Pan)
//   URIS_FILE             a JSON file {"redirect_uris": [...], "post_logout_redirect_uris": [...]}
//                         read at each check (matched exactly), so a test can name a server it
//                         starts after the provider (whose issuer that server needs)
//   USERS_FILE            a JSON file {"<login>": {claims}} read at each sign-in, so a test can
//                         change a user's groups between two sign-ins
// It prints one line `READY <issuer>` on stdout once it listens, and stops on SIGTERM.
import * as http from 'node:http';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const { default: Provider } = await import(pathToFileURL(process.env.OIDC_PROVIDER_MODULE).href);

const uris = () => JSON.parse(readFileSync(process.env.URIS_FILE, 'utf8'));
const users = () => JSON.parse(readFileSync(process.env.USERS_FILE, 'utf8'));

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(process.env.PORT || 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: ['http://127.0.0.1/registered-in-uris-file'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  // Pan must send a PKCE challenge (S256, the only method oidc-provider accepts).
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name', 'groups'],
    email: ['email', 'email_verified'],
  },
  // The ID token carries the claims too, not only the userinfo endpoint.
  conformIdTokenClaims: false,
  features: { rpInitiatedLogout: { enabled: true } },
  async findAccount(ctx, id) {
    const claims = users()[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  // Consent is given once per client without a second form.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email');
    grant.addOIDCClaims(['preferred_username', 'name', 'groups', 'email', 'email_verified']);
    await grant.save();
    return grant;
  },
});
provider.Client.prototype.redirectUriAllowed = (value) => uris().redirect_uris.includes(value);
provider.Client.prototype.postLogoutRedirectUriAllowed = (value) => (uris().post_logout_redirect_uris || []).includes(value);
provider.on('server_error', (ctx, error) => console.error('server_error', error));
server.on('request', provider.callback());
process.on('SIGTERM', () => server.close(() => process.exit(0)));
console.log(`READY ${issuer}`);
