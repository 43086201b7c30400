-- OLPC activity and buddy index: what laptops publish about themselves (buddies) and the shared
-- activities they are in. Properties are kept as a JSON array of {name, type, value}, validated
-- and canonical (see src/olpc/properties.ts). Result sets and views are per connected device and
-- live in memory only: a device that goes offline loses them, as with the original index.

CREATE TABLE olpc_buddies (
  jid text PRIMARY KEY,
  properties jsonb NOT NULL DEFAULT '[]',
  alias text,
  current_activity_id text,
  current_activity_room text,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE olpc_activities (
  id text PRIMARY KEY,
  -- The activity's MUC room; empty for an activity known only from the draft's join messages.
  room text NOT NULL DEFAULT '',
  properties jsonb NOT NULL DEFAULT '[]',
  -- Kept by the participants' heartbeats (see the README's in-call flag).
  in_call boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX olpc_activities_room ON olpc_activities (room);

CREATE TABLE olpc_participants (
  activity_id text NOT NULL REFERENCES olpc_activities (id) ON DELETE CASCADE,
  jid text NOT NULL,
  joined_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (activity_id, jid)
);

-- The rooms the index was invited into (it rejoins them after a restart).
CREATE TABLE olpc_rooms (
  room text PRIMARY KEY,
  invited_by text NOT NULL,
  joined_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
