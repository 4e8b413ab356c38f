-- Tokens may expire: NULL = never (every token created before this migration), else Unix seconds
-- after which the token is refused with 401 "token expired".
ALTER TABLE tokens ADD COLUMN expires_at DOUBLE PRECISION;
