-- The OpenID Connect provider (issue 16). Times are Unix seconds.

-- Signing keys: one row per key, `generation` counting up per algorithm. The private key is
-- PKCS#8 sealed (AES-256-GCM, key derived from security.hmac_keys) and base64-encoded. Several
-- instances starting together each try to insert generation N; the primary key lets one win.
-- A key is published from `created_at`, signs from `activates_at`, and stays published until
-- `expires_at` (nothing it signed can still be presented after that).
CREATE TABLE oidc_keys (
    alg TEXT NOT NULL,
    generation INTEGER NOT NULL,
    kid TEXT NOT NULL UNIQUE,
    sealed TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    activates_at INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (alg, generation)
);

-- Authorization requests waiting for the person to sign in (resumed after the last step).
CREATE TABLE oidc_requests (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL,
    request TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- A person's sign-in to one app (what "sign out of this app" ends). Tokens belong to a grant;
-- revoking the grant revokes them all (refresh family, access tokens). `sid` is the Latchkey
-- sign-in the grant came from; `generation` the person's session generation at the time, so
-- that anything that ends their sessions (a reset, "sign out of all other browsers") ends it.
CREATE TABLE oidc_grants (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    sid TEXT NOT NULL,
    generation INTEGER NOT NULL,
    details TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX oidc_grants_user ON oidc_grants (user_id);
CREATE INDEX oidc_grants_sid ON oidc_grants (sid);

-- Authorization codes and tokens, stored only as HMACs of their value. A code or refresh token
-- is used once (`used_at`); a second use revokes the grant.
CREATE TABLE oidc_tokens (
    digest TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    grant_id TEXT NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    details TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX oidc_tokens_grant ON oidc_tokens (grant_id);
CREATE INDEX oidc_tokens_expiry ON oidc_tokens (expires_at);
