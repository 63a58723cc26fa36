-- The exchange of a refresh token in one round trip (SessionStore::rotate_refresh_token, SPEC
-- §3): the steps the store used to send one by one — the token's session read, the session's
-- row locked and then the token's (the order every writer that locks both keeps), the checks,
-- the ticket drawn, the token spent and its successor stored — run here, in the caller's
-- statement and so in its transaction. Each statement of a volatile function sees what
-- committed before it began, as separate statements did.
--
-- Timestamps come in whole seconds, as the records keep them. The bodies are the V1 records of
-- storage/records.rs: the fields changed here (`revoked_at`, `spent_at`, `spent_ticket`) are
-- set in them as that code writes them (seconds since the epoch; the ticket a number). A new
-- record version comes with a new migration that replaces this function.
--
-- Returns the outcome ('rotated', 'reused', 'lost_race', 'inactive', 'not_found'), the
-- session's id, and, when rotated, the session's body.

CREATE FUNCTION tessera_rotate_refresh_token(
    spent uuid,
    ticket bigint,
    now timestamptz,
    next_id uuid,
    next_session uuid,
    next_expires_at timestamptz,
    next_body jsonb
) RETURNS TABLE (outcome text, session_id uuid, session_body text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    sid uuid;
    s_expires timestamptz;
    s_revoked timestamptz;
    s_body jsonb;
    t_spent timestamptz;
    t_ticket bigint;
    t_expires timestamptz;
    issued bigint;
BEGIN
    SELECT r.session INTO sid FROM refresh_tokens r WHERE r.id = spent;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found', NULL::uuid, NULL::text;
        RETURN;
    END IF;
    SELECT s.expires_at, s.revoked_at, s.body INTO s_expires, s_revoked, s_body
        FROM sessions s WHERE s.id = sid FOR UPDATE;
    IF NOT FOUND OR s_revoked IS NOT NULL OR s_expires <= now THEN
        RETURN QUERY SELECT 'inactive', sid, NULL::text;
        RETURN;
    END IF;
    -- Swept between the two reads: gone, as if it had never been.
    SELECT r.spent_at, r.spent_ticket, r.expires_at INTO t_spent, t_ticket, t_expires
        FROM refresh_tokens r WHERE r.id = spent FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found', NULL::uuid, NULL::text;
        RETURN;
    END IF;
    -- Spent by an exchange that began after this request did: a race, not a replay.
    IF t_ticket IS NOT NULL AND t_ticket > ticket THEN
        RETURN QUERY SELECT 'lost_race', sid, NULL::text;
        RETURN;
    END IF;
    IF t_spent IS NOT NULL THEN
        -- Reuse: a stolen copy and the legitimate one cannot both go on.
        UPDATE sessions SET revoked_at = now,
            body = s_body || jsonb_build_object('revoked_at', extract(epoch FROM now)::bigint)
            WHERE id = sid;
        RETURN QUERY SELECT 'reused', sid, NULL::text;
        RETURN;
    END IF;
    IF t_expires <= now THEN
        RETURN QUERY SELECT 'inactive', sid, NULL::text;
        RETURN;
    END IF;
    -- Greater than every ticket taken so far, on any node: those requests were under way.
    issued := nextval('rotation_tickets');
    UPDATE refresh_tokens SET spent_at = now, spent_ticket = issued,
        body = body || jsonb_build_object('spent_at', extract(epoch FROM now)::bigint,
                                          'spent_ticket', issued)
        WHERE id = spent;
    INSERT INTO refresh_tokens (id, session, expires_at, spent_at, spent_ticket, body)
        VALUES (next_id, next_session, next_expires_at, NULL, NULL, next_body);
    RETURN QUERY SELECT 'rotated', sid, s_body::text;
END;
$$;
