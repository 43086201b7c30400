-- NEERC task board: tasks and each assigned user's status, per room.
CREATE TABLE neerc_tasks (
  room text NOT NULL,
  id text NOT NULL,
  title text NOT NULL,
  type text NOT NULL CHECK (type IN ('todo', 'confirm', 'okfail', 'question', 'todofail')),
  -- Creation time in ms since the epoch, as the clients expect; edits keep it.
  created_ms bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (room, id)
);

CREATE INDEX neerc_tasks_order ON neerc_tasks (room, created_ms, id);

CREATE TABLE neerc_task_statuses (
  room text NOT NULL,
  task_id text NOT NULL,
  username text NOT NULL,
  -- The order the admin listed the users in.
  position integer NOT NULL,
  type text NOT NULL CHECK (type IN ('none', 'running', 'success', 'fail', 'acknowledged')),
  value text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (room, task_id, username),
  FOREIGN KEY (room, task_id) REFERENCES neerc_tasks (room, id) ON DELETE CASCADE
);
