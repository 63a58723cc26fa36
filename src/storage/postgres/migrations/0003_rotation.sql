-- The exchange of a refresh token in one round trip (SessionStore::rotate_refresh_token, SPEC
-- §3): the steps the store used to send one by one — the token's session read and locked, the
-- checks, the ticket drawn, the token spent and its successor stored — run here, in the
-- caller's statement and so in its transaction. Each statement of a volatile function sees
-- what committed before it began, as separate statements did.
--
-- The usual case costs three statements: the session locked, the token spent only if it is
-- still unspent and unexpired (an UPDATE that waits for a concurrent one and then checks the
-- row again) with its successor inserted, and the successor's foreign key check. Only when the
-- token was not live does the function lock it and look at why (a race, a replay, an expiry).
--
-- Timestamps come in whole seconds, as the records keep them. The bodies are the V1 records of
-- storage/records.rs: the fields changed here (`revoked_at`, `spent_at`, `spent_ticket`) are
-- set in them as that code writes them (seconds since the epoch; the ticket a number). A new
-- record version comes with a new migration that replaces this function.
--
-- Returns the outcome ('rotated', 'reused', 'lost_race', 'inactive', 'not_found'), the
-- session's id, and, when rotated, the session's body. Plain assignments, not queries, set
-- them: a RETURN QUERY would be one more statement per call.

CREATE FUNCTION tessera_rotate_refresh_token(
    spent uuid,
    ticket bigint,
    now timestamptz,
    next_id uuid,
    next_session uuid,
    next_expires_at timestamptz,
    next_body jsonb,
    OUT outcome text,
    OUT session_id uuid,
    OUT session_body text
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    s_expires timestamptz;
    s_revoked timestamptz;
    s_body jsonb;
    t_spent timestamptz;
    t_ticket bigint;
    t_expires timestamptz;
BEGIN
    -- The token's session, locked (the token is only read: every writer that locks both
    -- takes the session first). Waiting for the lock reads the session as it is then.
    SELECT s.id, s.expires_at, s.revoked_at, s.body INTO session_id, s_expires, s_revoked, s_body
        FROM refresh_tokens r JOIN sessions s ON s.id = r.session
        WHERE r.id = spent FOR UPDATE OF s;
    IF NOT FOUND THEN
        session_id := NULL;
        IF EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.id = spent) THEN
            outcome := 'inactive';
        ELSE
            outcome := 'not_found';
        END IF;
        RETURN;
    END IF;
    IF s_revoked IS NOT NULL OR s_expires <= now THEN
        outcome := 'inactive';
        RETURN;
    END IF;
    -- Spent with a ticket greater than every one taken so far, on any node (those requests
    -- were under way), if it is live; and its successor stored.
    WITH spent_now AS (
        UPDATE refresh_tokens r SET spent_at = now, spent_ticket = n.issued,
            body = r.body || jsonb_build_object('spent_at', extract(epoch FROM now)::bigint,
                                                'spent_ticket', n.issued)
            FROM (SELECT nextval('rotation_tickets') AS issued) n
            WHERE r.id = spent AND r.spent_at IS NULL AND r.expires_at > now
            RETURNING r.id
    )
    INSERT INTO refresh_tokens (id, session, expires_at, spent_at, spent_ticket, body)
        SELECT next_id, next_session, next_expires_at, NULL, NULL, next_body FROM spent_now;
    IF FOUND THEN
        outcome := 'rotated';
        session_body := s_body::text;
        RETURN;
    END IF;
    -- Not live: why. Swept meanwhile: gone, as if it had never been.
    SELECT r.spent_at, r.spent_ticket, r.expires_at INTO t_spent, t_ticket, t_expires
        FROM refresh_tokens r WHERE r.id = spent FOR UPDATE;
    IF NOT FOUND THEN
        session_id := NULL;
        outcome := 'not_found';
    -- Spent by an exchange that began after this request did: a race, not a replay.
    ELSIF t_ticket IS NOT NULL AND t_ticket > ticket THEN
        outcome := 'lost_race';
    ELSIF t_spent IS NOT NULL THEN
        -- Reuse: a stolen copy and the legitimate one cannot both go on.
        UPDATE sessions SET revoked_at = now,
            body = s_body || jsonb_build_object('revoked_at', extract(epoch FROM now)::bigint)
            WHERE id = session_id;
        outcome := 'reused';
    ELSE
        outcome := 'inactive';
    END IF;
END;
$$;
