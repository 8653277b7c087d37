// A real OpenID Connect provider (oidc-provider, certified) on loopback for accounts/tests/test_sso.py.
// Test-only: development interactions (any login, any password), one confidential client, PKCE required.
// The account id typed at login is the person's email; "unverified-..." logins get email_verified=false.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: process.env.REDIRECT_URIS.split(','),
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: `sub-${id}`,
      email: id.replace(/^unverified-/, ''),
      email_verified: !id.startsWith('unverified-'),
      name: `Test ${id.split('@')[0]}`,
    }),
  }),
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['test-only-cookie-signing-key'] },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`READY ${issuer}`);
});
