ALTER TABLE sessions ADD COLUMN loopback_token TEXT;
CREATE UNIQUE INDEX sessions_loopback_token ON sessions(loopback_token)
    WHERE loopback_token IS NOT NULL;
CREATE INDEX approvals_stream_pending ON approvals(stream_id) WHERE status = 'pending'
