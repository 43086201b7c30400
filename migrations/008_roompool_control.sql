-- Room pool control: what the server's admins set through the ad-hoc commands (XEP-0050) at the
-- component JID, kept here so that a restart, or another instance taking over in active/standby,
-- keeps it. One row. min_available overrides the configuration's roompool.min_available until
-- it is reset to NULL; draining stops the creation of rooms (the open ones live on until their
-- chats end) until it is set back to false.

CREATE TABLE roompool_control (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  min_available integer CHECK (min_available >= 0),
  draining boolean NOT NULL DEFAULT false,
  changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- The admin's JID that made the last change (NULL: never changed).
  changed_by text
);

INSERT INTO roompool_control DEFAULT VALUES;

-- Only the instance that holds the lease changes it (see 007_leadership.sql).
CREATE TRIGGER roompool_control_fenced BEFORE INSERT OR UPDATE OR DELETE ON roompool_control
  FOR EACH STATEMENT EXECUTE FUNCTION concierge_fence();
