-- Announcements for the node-local caches (storage/postgres/cache.rs, SPEC §11): a change to
-- a row that a node may hold in memory sends `NOTIFY tessera_changes, '<table>:<key>'` from a
-- trigger, in the transaction that makes it, so that it is delivered when, and only if, that
-- transaction commits, whichever path wrote it (tessera, a restore, an operator's psql).
--
-- What is announced is what can change an answer a cache gave:
-- * users, apps, api_keys, clients: created, changed or deleted (a key's last-use note, a
--   write that keeps its version, is not announced: nothing decides on it);
-- * sessions: revoked (a session is created before any token names it, and only the sweep
--   deletes one, once it has ended);
-- * revoked_jti: a token revoked (only the sweep deletes a marker, once the token expired);
-- * lockouts: a lockout set (an unlocked key is what a node caches).
--
-- A bulk load sets `tessera.quiet` for its transaction and announces '*' once instead.

CREATE FUNCTION tessera_announce() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed record;
BEGIN
    IF coalesce(current_setting('tessera.quiet', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        changed := OLD;
    ELSE
        changed := NEW;
    END IF;
    PERFORM pg_notify('tessera_changes',
                      TG_TABLE_NAME || ':' || (to_jsonb(changed) ->> TG_ARGV[0]));
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_announce AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION tessera_announce('userid');
CREATE TRIGGER apps_announce AFTER INSERT OR UPDATE OR DELETE ON apps
    FOR EACH ROW EXECUTE FUNCTION tessera_announce('id');
CREATE TRIGGER clients_announce AFTER INSERT OR UPDATE OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION tessera_announce('id');
CREATE TRIGGER api_keys_announce AFTER INSERT OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION tessera_announce('id');
CREATE TRIGGER api_keys_announce_edit AFTER UPDATE ON api_keys
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version
                       OR OLD.app_id IS DISTINCT FROM NEW.app_id)
    EXECUTE FUNCTION tessera_announce('id');
CREATE TRIGGER sessions_announce AFTER UPDATE ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
                       OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
    EXECUTE FUNCTION tessera_announce('id');
CREATE TRIGGER revoked_jti_announce AFTER INSERT OR UPDATE ON revoked_jti
    FOR EACH ROW EXECUTE FUNCTION tessera_announce('jti');
CREATE TRIGGER lockouts_announce AFTER UPDATE ON lockouts
    FOR EACH ROW WHEN (NEW.locked_until IS NOT NULL
                       AND OLD.locked_until IS DISTINCT FROM NEW.locked_until)
    EXECUTE FUNCTION tessera_announce('key');
