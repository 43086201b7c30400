-- Active/standby: one instance at a time acts (runs the component link, the bot and the web
-- chat); it holds a lease in this table, renewed every second or two, and every write it makes
-- is fenced by the lease's epoch, so that an instance that was paused or cut off and has not
-- noticed yet cannot change anything once another has taken over.
--
-- A lease is taken when it has expired (the database's clock decides), and each new holder
-- gets a new epoch. An instance writes with the session setting concierge.fence = 'name:epoch'
-- on every connection; the triggers below refuse its writes (SQLSTATE CF001) unless that epoch
-- is still the lease's and the lease has not expired. Connections without the setting (the web
-- application's, a single instance without active/standby) are not fenced.

CREATE TABLE concierge_leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  epoch bigint NOT NULL,
  acquired_at timestamptz NOT NULL,
  renewed_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);

-- Takes or renews the lease: the epoch if p_holder holds it afterwards, NULL if another does.
CREATE FUNCTION concierge_lease(p_name text, p_holder text, p_ttl_ms integer)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  held bigint;
BEGIN
  INSERT INTO concierge_leases AS l (name, holder, epoch, acquired_at, renewed_at, expires_at)
  VALUES (p_name, p_holder, 1, now(), now(), now() + p_ttl_ms * interval '1 millisecond')
  ON CONFLICT (name) DO UPDATE SET
    holder = excluded.holder,
    epoch = CASE WHEN l.holder = excluded.holder AND l.expires_at > now()
                 THEN l.epoch ELSE l.epoch + 1 END,
    acquired_at = CASE WHEN l.holder = excluded.holder AND l.expires_at > now()
                       THEN l.acquired_at ELSE now() END,
    renewed_at = now(),
    expires_at = now() + p_ttl_ms * interval '1 millisecond'
  WHERE (l.holder = excluded.holder AND l.expires_at > now()) OR l.expires_at <= now()
  RETURNING epoch INTO held;
  RETURN held;
END $$;

-- Gives the lease up at once (a clean stop), if p_holder still holds it under p_epoch.
CREATE FUNCTION concierge_lease_release(p_name text, p_holder text, p_epoch bigint)
RETURNS boolean LANGUAGE sql AS $$
  UPDATE concierge_leases SET expires_at = now()
  WHERE name = p_name AND holder = p_holder AND epoch = p_epoch AND expires_at > now()
  RETURNING true
$$;

-- Which term wrote each room event (NULL: a single instance, or the web application's claims),
-- so that the history shows that no two instances ever acted on the rooms at once.
ALTER TABLE roompool_events
  ADD COLUMN fence text DEFAULT nullif(current_setting('concierge.fence', true), '');

CREATE FUNCTION concierge_fence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  fence text := nullif(current_setting('concierge.fence', true), '');
BEGIN
  IF fence IS NULL THEN
    RETURN NULL;
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM concierge_leases
    WHERE name = split_part(fence, ':', 1) AND epoch = split_part(fence, ':', 2)::bigint
      AND expires_at > now()
  ) THEN
    RAISE EXCEPTION 'this instance no longer holds the lease % (another has taken over)', fence
      USING ERRCODE = 'CF001';
  END IF;
  RETURN NULL;
END $$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY[
    'roompool_rooms', 'neerc_tasks', 'neerc_task_statuses', 'presence_contacts',
    'olpc_buddies', 'olpc_activities', 'olpc_participants', 'olpc_rooms',
    'webchat_sessions', 'webchat_tokens', 'webchat_events', 'webchat_sent', 'webchat_threads'
  ] LOOP
    EXECUTE format(
      'CREATE TRIGGER %I BEFORE INSERT OR UPDATE OR DELETE ON %I '
      'FOR EACH STATEMENT EXECUTE FUNCTION concierge_fence()',
      t || '_fenced', t
    );
  END LOOP;
END $$;
