-- Room events carry the time the bot saw them, not the time they were written: when the
-- database was down, the bot keeps what it saw and writes it once the database is back, and the
-- history must still say when each thing happened. The bot sets the transaction-local setting
-- concierge.at; without it (the web application's claims) the time is the clock's, as before.

CREATE FUNCTION roompool_event_time() RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('concierge.at', true), '')::timestamptz, clock_timestamp())
$$;

CREATE OR REPLACE FUNCTION roompool_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  event_id bigint;
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.status = OLD.status THEN
    RETURN NEW;
  END IF;
  INSERT INTO roompool_events (room_jid, from_status, to_status, cause, at)
  VALUES (
    NEW.jid,
    CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
    NEW.status,
    coalesce(nullif(current_setting('concierge.cause', true), ''), 'unspecified'),
    roompool_event_time()
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

CREATE OR REPLACE FUNCTION roompool_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status <> OLD.status THEN
    NEW.status_changed_at := roompool_event_time();
  END IF;
  RETURN NEW;
END $$;
