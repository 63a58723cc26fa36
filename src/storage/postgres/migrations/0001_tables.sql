-- The first schema of the PostgreSQL store (SPEC §11). One table per record kind: the record
-- itself is `body`, the versioned JSON of storage/records.rs, so that its conversions stay in
-- one place; the columns beside it are copies of what a query filters, orders or joins on,
-- written from the same value in the same statement. Timestamps are whole seconds, as the
-- records keep them. Text keys sort as bytes (COLLATE "C"), the order sled keeps them in.

CREATE TABLE users (
    userid  text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL,
    body    jsonb NOT NULL
);

-- No foreign key to users: a deleted user's revoked sessions stay until swept, and directory
-- users have no user record (storage/snapshot.rs).
CREATE TABLE sessions (
    id         uuid PRIMARY KEY,
    userid     text COLLATE "C" NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    body       jsonb NOT NULL
);
-- revoke_user_sessions; count_live_sessions and the sweep read the other two.
CREATE INDEX sessions_userid_live ON sessions (userid) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE refresh_tokens (
    id           uuid PRIMARY KEY,
    session      uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at   timestamptz NOT NULL,
    spent_at     timestamptz,
    spent_ticket bigint,
    body         jsonb NOT NULL
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- Rotation tickets (SessionStore::rotation_ticket): a ticket is the sequence's last value, an
-- exchange takes the next one, so that every node's tickets keep growing. Called once here,
-- so that last_value is a value already handed out.
CREATE SEQUENCE rotation_tickets AS bigint MINVALUE 1;
SELECT setval('rotation_tickets', 1, true);

CREATE TABLE revoked_jti (
    jti        text COLLATE "C" PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX revoked_jti_expires_at ON revoked_jti (expires_at);

CREATE TABLE signing_keys (
    kid  text COLLATE "C" PRIMARY KEY,
    body jsonb NOT NULL
);

CREATE TABLE meta (
    name  text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE apps (
    id      uuid PRIMARY KEY,
    version bigint NOT NULL,
    body    jsonb NOT NULL
);

CREATE TABLE api_keys (
    id         uuid PRIMARY KEY,
    app_id     uuid NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    version    bigint NOT NULL,
    created_at timestamptz NOT NULL,
    body       jsonb NOT NULL
);
-- list_api_keys, in its order.
CREATE INDEX api_keys_app_id ON api_keys (app_id, created_at, id);

CREATE TABLE clients (
    id      uuid PRIMARY KEY,
    version bigint NOT NULL,
    body    jsonb NOT NULL
);

CREATE TABLE pairs (
    id         uuid PRIMARY KEY,
    client_id  uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    body       jsonb NOT NULL
);
CREATE INDEX pairs_client_id ON pairs (client_id);
CREATE INDEX pairs_expires_at ON pairs (expires_at);

-- Short-lived state that every node must share (SPEC §11: a lockout or a browser session made
-- through one node holds on every other), and that no backup carries: sled keeps it in memory
-- (storage/memory.rs). Plain columns, since no record of it is ever read back from a file.
-- The sweep removes what has ended.
CREATE TABLE browser_sessions (
    id            bytea PRIMARY KEY,  -- the SHA-256 of the cookie
    userid        text COLLATE "C" NOT NULL,
    csrf          text NOT NULL,
    password_hash text NOT NULL,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX browser_sessions_expires_at ON browser_sessions (expires_at);

CREATE TABLE lockouts (
    key          text COLLATE "C" PRIMARY KEY,
    failures     timestamptz[] NOT NULL,
    locked_until timestamptz,
    last_failure timestamptz NOT NULL
);
CREATE INDEX lockouts_last_failure ON lockouts (last_failure);

-- Logins and failed checks per minute (minutes since the epoch).
CREATE TABLE counts (
    minute   bigint PRIMARY KEY,
    logins   bigint NOT NULL,
    failures bigint NOT NULL
);
