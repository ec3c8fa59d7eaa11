// A real OpenID Connect provider for the single sign-on tests (oidc-provider, a certified implementation).
//
//   node provider.mjs '<json>'   with {"port": 41234, "kid": "key-1", "clients": [...], "idTokenTtl": {"client": 1}}
//
// Each client is {"client_id", "client_secret", "redirect_uris": [...]}. The sign-in pages are oidc-provider's
// development interactions: any login name is accepted, and the account it names is the person:
//   "ann@a.example"             -> email ann@a.example, email_verified true
//   "unverified:ann@a.example"  -> email ann@a.example, email_verified false
// The signing key is made afresh at start with the given "kid": starting again with another kid on the same port
// is a key rotation as a relying party sees it (same issuer, a key it has never seen).
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const config = JSON.parse(process.argv[2] ?? "{}");
const port = Number(config.port);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signing = { ...privateKey.export({ format: "jwk" }), kid: config.kid ?? "key-1", alg: "RS256", use: "sig" };
const ttls = config.idTokenTtl ?? {};

function account(login) {
  const unverified = login.startsWith("unverified:");
  const email = unverified ? login.slice("unverified:".length) : login;
  return {
    accountId: login,
    async claims() {
      return { sub: login, email, email_verified: !unverified };
    },
  };
}

const provider = new Provider(issuer, {
  clients: (config.clients ?? []).map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  })),
  jwks: { keys: [signing] },
  claims: { openid: ["sub"], email: ["email", "email_verified"] },
  // The email in the ID token itself, as the common providers put it there.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["licentia test provider"] },
  findAccount: (ctx, id) => account(id),
  ttl: {
    IdToken: (ctx, token, client) => ttls[client?.clientId] ?? 3600,
  },
});
provider.proxy = false;
const server = provider.listen(port, "127.0.0.1", () => {
  process.stdout.write(`listening ${issuer}\n`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
