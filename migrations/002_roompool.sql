-- Room pool: password-protected MUC rooms for one-to-one chats between a staff member and a
-- client, and the contract with the web application that sends people into them.
--
--   available ──claim staff──▶ staff_claimed ──staff joins──▶ staff_waiting
--   staff_waiting ──claim client──▶ client_claimed ──client joins──▶ chatting
--   chatting ──one leaves──▶ closing ──last leaves──▶ closed (room destroyed, row kept)
--
-- The bot (Concierge) moves rooms on what it sees in the rooms; the web application only calls
-- the functions below. Every status change is recorded in roompool_events by a trigger, with
-- the cause taken from the transaction-local setting concierge.cause, and announced with
-- NOTIFY roompool.

CREATE TABLE roompool_rooms (
  jid text PRIMARY KEY,
  password text NOT NULL,
  status text NOT NULL DEFAULT 'available' CHECK (status IN (
    'available', 'staff_claimed', 'staff_waiting', 'client_claimed', 'chatting', 'closing', 'closed'
  )),
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  status_changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- Who the web application sent (its own ids and the nicks it told them to use) ...
  staff_id text,
  staff_nick text,
  staff_claimed_at timestamptz,
  client_id text,
  client_nick text,
  client_claimed_at timestamptz,
  -- ... and who the bot saw arrive (nick and real JID in the room).
  staff_occupant text,
  staff_real_jid text,
  staff_joined_at timestamptz,
  client_occupant text,
  client_real_jid text,
  client_joined_at timestamptz,
  closed_at timestamptz
);

CREATE INDEX roompool_rooms_open ON roompool_rooms (status, status_changed_at)
  WHERE status <> 'closed';

CREATE TABLE roompool_events (
  id bigserial PRIMARY KEY,
  room_jid text NOT NULL REFERENCES roompool_rooms (jid),
  from_status text,
  to_status text NOT NULL,
  cause text NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX roompool_events_room ON roompool_events (room_jid, id);

CREATE FUNCTION roompool_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  event_id bigint;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.status = OLD.status THEN
    RETURN NEW;
  END IF;
  INSERT INTO roompool_events (room_jid, from_status, to_status, cause)
  VALUES (
    NEW.jid,
    CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
    NEW.status,
    coalesce(nullif(current_setting('concierge.cause', true), ''), 'unspecified')
  )
  RETURNING id INTO event_id;
  -- The event id keeps payloads distinct: Postgres folds identical notifications of one transaction.
  PERFORM pg_notify('roompool', json_build_object(
    'event', event_id,
    'jid', NEW.jid,
    'status', NEW.status,
    'previous', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END
  )::text);
  RETURN NEW;
END $$;

CREATE TRIGGER roompool_rooms_changed
  AFTER INSERT OR UPDATE OF status ON roompool_rooms
  FOR EACH ROW EXECUTE FUNCTION roompool_record_change();

CREATE FUNCTION roompool_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status <> OLD.status THEN
    NEW.status_changed_at := clock_timestamp();
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER roompool_rooms_touch
  BEFORE UPDATE OF status ON roompool_rooms
  FOR EACH ROW EXECUTE FUNCTION roompool_touch();

-- Claims an available room for a staff member: the oldest ready room. No row: none available.
CREATE FUNCTION roompool_claim_staff(p_staff_id text, p_staff_nick text)
RETURNS TABLE (room_jid text, room_password text) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('concierge.cause', 'claimed for staff ' || p_staff_id, true);
  RETURN QUERY
  UPDATE roompool_rooms AS r
  SET status = 'staff_claimed', staff_id = p_staff_id, staff_nick = p_staff_nick,
      staff_claimed_at = clock_timestamp()
  WHERE r.jid = (
    SELECT jid FROM roompool_rooms
    WHERE status = 'available'
    ORDER BY created_at, jid
    LIMIT 1
    FOR UPDATE SKIP LOCKED
  )
  RETURNING r.jid, r.password;
END $$;

-- Claims a room for a client: among rooms whose staff member is waiting, the one who has waited
-- longest. No row: no staff member is free.
CREATE FUNCTION roompool_claim_client(p_client_id text, p_client_nick text)
RETURNS TABLE (room_jid text, room_password text) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('concierge.cause', 'claimed for client ' || p_client_id, true);
  RETURN QUERY
  UPDATE roompool_rooms AS r
  SET status = 'client_claimed', client_id = p_client_id, client_nick = p_client_nick,
      client_claimed_at = clock_timestamp()
  WHERE r.jid = (
    SELECT jid FROM roompool_rooms
    WHERE status = 'staff_waiting'
    ORDER BY staff_joined_at NULLS LAST, status_changed_at, jid
    LIMIT 1
    FOR UPDATE SKIP LOCKED
  )
  RETURNING r.jid, r.password;
END $$;

-- Gives back a claim whose person will not come: 'staff' makes a staff_claimed room available
-- again, 'client' makes a client_claimed room wait for another client. False if nothing changed.
CREATE FUNCTION roompool_release(p_room_jid text, p_who text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  changed integer;
BEGIN
  IF p_who IS NULL OR p_who NOT IN ('staff', 'client') THEN
    RAISE EXCEPTION 'roompool_release: who must be staff or client, not %', coalesce(p_who, 'NULL');
  END IF;
  PERFORM set_config('concierge.cause', p_who || ' claim released', true);
  IF p_who = 'staff' THEN
    UPDATE roompool_rooms
    SET status = 'available', staff_id = NULL, staff_nick = NULL, staff_claimed_at = NULL
    WHERE jid = p_room_jid AND status = 'staff_claimed';
  ELSE
    UPDATE roompool_rooms
    SET status = 'staff_waiting', client_id = NULL, client_nick = NULL, client_claimed_at = NULL
    WHERE jid = p_room_jid AND status = 'client_claimed';
  END IF;
  GET DIAGNOSTICS changed = ROW_COUNT;
  RETURN changed > 0;
END $$;
