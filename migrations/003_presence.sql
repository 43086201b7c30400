-- Presence: the users who subscribed to the component's presence (XMPP "publish"), so that a
-- restarted daemon can tell them it is back and probe them; and the in-call flag of pool rooms,
-- kept by the participants' heartbeats, for the web application to read.

CREATE TABLE presence_contacts (
  jid text PRIMARY KEY,
  subscribed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

ALTER TABLE roompool_rooms
  ADD COLUMN in_call boolean NOT NULL DEFAULT false,
  ADD COLUMN in_call_changed_at timestamptz;

-- An in-call change is announced like a status change, on the same channel, without an event row
-- (the flag flips every time a call starts or ends; the rooms table holds its current value).
CREATE FUNCTION roompool_notify_in_call() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.in_call IS DISTINCT FROM OLD.in_call THEN
    NEW.in_call_changed_at := clock_timestamp();
    PERFORM pg_notify('roompool', json_build_object(
      'jid', NEW.jid,
      'status', NEW.status,
      'in_call', NEW.in_call
    )::text);
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER roompool_rooms_in_call
  BEFORE UPDATE OF in_call ON roompool_rooms
  FOR EACH ROW EXECUTE FUNCTION roompool_notify_in_call();
