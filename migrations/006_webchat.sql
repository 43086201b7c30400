-- Browser chat bridge (Nereid "Browser based Chat 1.0"): sessions of people who chat from a web
-- page, the tokens that give a browser access to one session, each session's event log (the
-- stream's `id:` sequence, replayed on resume), and the message ids a browser already sent.
--
-- A session is one person in one pool room with one thread; it outlives its tokens (a new token
-- for the same person and room continues it) and ends when the person leaves or the room closes.

CREATE TABLE webchat_sessions (
  id bigserial PRIMARY KEY,
  person_id text NOT NULL,
  display_name text NOT NULL,
  role text NOT NULL CHECK (role IN ('client', 'staff')),
  room_jid text NOT NULL,
  -- The nick the occupant has in the room (set once it joined).
  nick text,
  thread text NOT NULL,
  -- XMPP users this person may hold a one-to-one thread with (bare JIDs).
  contacts text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- The last event's sequence number: events are numbered 1, 2, 3… per session.
  last_seq bigint NOT NULL DEFAULT 0,
  ended_at timestamptz,
  end_reason text
);

-- One open session per person and room.
CREATE UNIQUE INDEX webchat_sessions_open ON webchat_sessions (person_id, room_jid)
  WHERE ended_at IS NULL;
CREATE INDEX webchat_sessions_room ON webchat_sessions (room_jid) WHERE ended_at IS NULL;

-- Tokens are kept as their SHA-256 only: the table never holds what a browser presents.
CREATE TABLE webchat_tokens (
  hash bytea PRIMARY KEY,
  session_id bigint NOT NULL REFERENCES webchat_sessions (id),
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);

CREATE INDEX webchat_tokens_session ON webchat_tokens (session_id);
CREATE INDEX webchat_tokens_expiry ON webchat_tokens (expires_at);

CREATE TABLE webchat_events (
  session_id bigint NOT NULL REFERENCES webchat_sessions (id),
  seq bigint NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- The stanza as the stream carries it (section 3 of the protocol).
  stanza json NOT NULL,
  -- Where an XMPP message came from (sender and id), to recognise it again in a room's history.
  origin text,
  PRIMARY KEY (session_id, seq)
);

CREATE INDEX webchat_events_origin ON webchat_events (session_id, origin) WHERE origin IS NOT NULL;

-- Message ids (the browser's UUIDs) already sent: a repeated id is not sent again.
CREATE TABLE webchat_sent (
  session_id bigint NOT NULL REFERENCES webchat_sessions (id),
  message_id uuid NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (session_id, message_id)
);

-- One-to-one threads of a session with an XMPP user (the protocol's "individual" conversation).
CREATE TABLE webchat_threads (
  session_id bigint NOT NULL REFERENCES webchat_sessions (id),
  peer_jid text NOT NULL,
  thread text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (session_id, peer_jid)
);
