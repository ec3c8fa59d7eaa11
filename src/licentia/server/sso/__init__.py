"""Single sign-on with OpenID Connect: Licentia as a relying party of the vendor's or an organisation's identity
provider, for the admin UI and the customer portal (docs/sso.md).

The modules, in the order a sign-in meets them: ``connections`` (the providers the vendor set up),
``issuers`` (each provider's discovery document and signing keys, cached, refetched when a key is new),
``attempts`` (a sign-in sent away: its state, nonce and PKCE verifier, spent once), ``id_tokens`` (the
ID token's signature and claims), ``flow`` (the two halves: the redirect out, and the answer back).

Threats and answers:
- a forged or altered ID token: its signature is verified with the issuer's published keys (JWKS, over
  HTTPS in production), only asymmetric algorithms, never ``none``; the issuer must be the connection's, exactly;
- a token minted for another application: ``aud`` must name this connection's client id (and ``azp`` must,
  when there are several audiences);
- an old token replayed, or an answer replayed: ``exp``/``iat`` within a minute's leeway; the ``nonce`` sent
  out must come back inside the token; the ``state`` is spent once (a second callback finds nothing);
- login CSRF (an attacker's answer delivered to the victim's browser): the attempt is bound to a random
  cookie of the browser that started it;
- a stolen authorization code: PKCE (S256), so only who holds the verifier can redeem it;
- mix-up between providers: the attempt names its connection, the answer's ``iss`` (RFC 9207) must match it,
  and the code is redeemed only at that connection's token endpoint;
- an address the provider has not checked: ``email_verified`` must be true; a portal connection answers
  only for its own email domains;
- a provider's key rotation: an unknown ``kid`` refetches the key set once, at most every few seconds.
"""
